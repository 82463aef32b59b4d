"""The demo's IWPC warfarin twin: its card declares what it reads (genotypes are genomic
data, race is sensitive) and that its simulated evaluation set checks the implementation
only; the simulation is seeded and follows the published model."""

from __future__ import annotations

import numpy as np
import pytest

from models.card import TwinCard, TwinKind
from models.demo_twins import DemoTwin
from models.validation import BootstrapSettings, validate
from models.warfarin.demo import EVALUATION_ROWS, warfarin_twin
from models.warfarin.iwpc import CODES, FEATURES, IWPC_PHARMACOGENETIC
from models.warfarin.population import RESIDUAL_SD


@pytest.fixture(scope="module")
def twin() -> DemoTwin:
    return warfarin_twin()


def test_the_card_declares_genomic_data_race_and_dose_space(twin: DemoTwin) -> None:
    card = twin.card
    assert card.kind is TwinKind.IWPC_WARFARIN
    assert card.feature_names == FEATURES
    assert "genomic" in card.data_categories
    assert set(card.data_categories) == {"demographics", "vitals", "medication", "genomic"}
    assert card.sensitive_attributes == ("race",)
    assert card.kind.prediction_kind == "value"
    assert card.kind.output_space == "dose_mg_per_week"
    assert card.extra["output_unit"] == "mg/week"
    assert "mg/week" in card.extra["explanation"]
    assert card.error_scale == "sqrt"
    assert "N Engl J Med 2009" in card.extra["source"]
    assert card.extra["codes"] == {name: list(labels) for name, labels in CODES.items()}
    for name in ("vkorc1", "cyp2c9", "race"):
        spec = card.feature(name)
        assert (spec.dtype, spec.minimum, spec.maximum) == ("int", 0.0, len(CODES[name]) - 1)
    assert TwinCard.from_dict(card.to_dict()) == card


def test_the_card_and_the_validation_say_the_evaluation_only_checks_the_implementation(
    twin: DemoTwin,
) -> None:
    note = twin.card.evaluation_note
    assert note is not None
    assert "simulated from the published IWPC algorithm" in note
    assert "checks the implementation only" in note
    report = validate(
        twin.card, twin.model, twin.evaluation, BootstrapSettings(resamples=20, level=0.95)
    )
    assert note in report.notes
    assert set(report.subgroups["race"]) == {"0", "1", "2", "3"}


def test_the_simulation_is_seeded_and_follows_the_published_model(twin: DemoTwin) -> None:
    again = warfarin_twin()
    assert again.evaluation.equals(twin.evaluation)
    np.testing.assert_array_equal(again.background, twin.background)
    frame = twin.evaluation
    assert list(frame.columns) == [*FEATURES, "y"] and len(frame) == EVALUATION_ROWS
    for spec in twin.card.features:
        assert frame[spec.name].between(spec.minimum, spec.maximum).all(), spec.name
        low, high = twin.card.envelope[spec.name]
        assert spec.minimum <= low <= high <= spec.maximum
    assert frame["race"].value_counts().min() >= 100  # every group well above audit size
    root = IWPC_PHARMACOGENETIC.sqrt_dose(frame[list(FEATURES)].to_numpy())
    residual = np.sqrt(frame["y"].to_numpy()) - root
    assert abs(residual.mean()) < 0.1
    assert residual.std() == pytest.approx(RESIDUAL_SD, rel=0.1)
    assert twin.background.shape == (100, len(FEATURES))
