"""Mechanistic twins as twin kinds: cards, safe JSON files, scoring and the demo twins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.card import DATA_CATEGORIES, FeatureSpec, TwinCard, TwinKind
from models.demo_twins import DemoTwin
from models.errors import ArtifactFormatError, CardError
from models.formats import MECHANISTIC_CLASSES, load_model, model_filename, save_model
from models.mechanistic import GlucoseT1DTwin, RadiotherapyTwin, VancomycinTwin, WindkesselTwin
from models.mechanistic.glucose import virtual_cohort
from models.mechanistic_demo import (
    BACKGROUND_ROWS,
    NOISE_SIGMA,
    POPULATION_ROWS,
    train_mechanistic_twins,
)
from models.scoring import score

MECHANISTIC = [
    TwinKind.PK_VANCOMYCIN,
    TwinKind.WINDKESSEL,
    TwinKind.RADIOTHERAPY,
    TwinKind.GLUCOSE_T1D,
]
#: Non-default settings, so a round trip cannot pass by falling back to defaults.
SETTINGS: dict[TwinKind, dict[str, Any]] = {
    TwinKind.PK_VANCOMYCIN: {"dialysis": True, "infusion_h": 2.0, "dt_max": 0.1},
    TwinKind.WINDKESSEL: {"characteristic_resistance": 0.07, "n_steps": 300},
    TwinKind.RADIOTHERAPY: {
        "growth": "gompertz",
        "carrying_capacity": 1500.0,
        "horizon_days": 120.0,
        "dt_max": 0.1,
    },
    TwinKind.GLUCOSE_T1D: {"horizon_h": 36.0, "dt_max": 0.5},
}


@pytest.fixture(scope="module")
def demo() -> dict[str, DemoTwin]:
    return {t.name: t for t in train_mechanistic_twins()}


def _rows(twin: DemoTwin, n: int = 8) -> np.ndarray:
    return twin.evaluation.loc[: n - 1, list(twin.card.feature_names)].to_numpy(np.float64)


@pytest.mark.parametrize("kind", MECHANISTIC)
def test_mechanistic_kind_properties(kind: TwinKind) -> None:
    assert kind.is_mechanistic
    assert kind.prediction_kind == "value"
    assert kind.output_space == "raw"
    assert not kind.is_float32
    assert kind in MECHANISTIC_CLASSES


def test_other_kinds_are_not_mechanistic() -> None:
    assert {k for k in TwinKind if k.is_mechanistic} == set(MECHANISTIC)


def _card(extra: dict[str, Any]) -> TwinCard:
    return TwinCard(
        kind=TwinKind.WINDKESSEL,
        description="",
        outcome="map",
        intended_purposes=("research",),
        features=(FeatureSpec("heart_rate", "float", "bpm", 30.0, 200.0),),
        envelope={},
        sensitive_attributes=(),
        data_categories=("vitals",),
        extra=extra,
    )


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"output": "map"},
        {"output": "map", "outputs": []},
        {"output": "map", "outputs": "map"},
        {"output": "map", "outputs": ["systolic", "diastolic"]},
        {"output": None, "outputs": ["map"]},
        {"output": "map", "outputs": ["map", "map"]},
        {"output": "map", "outputs": ["map", 3]},
    ],
)
def test_card_refuses_default_output_outside_outputs(extra: dict[str, Any]) -> None:
    with pytest.raises(CardError):
        _card(extra)


def test_card_names_default_and_allowed_outputs() -> None:
    card = _card({"output": "map", "outputs": ["systolic", "diastolic", "map"]})
    assert card.default_output == "map"
    assert card.outputs == ("systolic", "diastolic", "map")


def test_demo_cards_round_trip_through_json(demo: dict[str, DemoTwin]) -> None:
    for twin in demo.values():
        data = json.loads(json.dumps(twin.card.to_dict()))
        assert TwinCard.from_dict(data) == twin.card
        assert TwinCard.from_dict(data).to_dict() == twin.card.to_dict()


@pytest.mark.parametrize("kind", MECHANISTIC)
def test_json_file_round_trip(kind: TwinKind, tmp_path: Path) -> None:
    cls = MECHANISTIC_CLASSES[kind]
    model = cls(**SETTINGS[kind])
    (path,) = save_model(kind, model, tmp_path)
    assert path.name == model_filename(kind) == "model.json"
    assert json.loads(path.read_text(encoding="utf-8")) == SETTINGS[kind]
    loaded = load_model(kind, tmp_path)
    assert type(loaded) is cls
    assert {k: getattr(loaded, k) for k in SETTINGS[kind]} == SETTINGS[kind]
    assert loaded.n_features_in_ == len(cls.input_names)  # fitted on load


def test_loaded_twin_predicts_like_the_saved_one(demo: dict[str, DemoTwin], tmp_path: Path) -> None:
    for twin in demo.values():
        kind = twin.card.kind
        save_model(kind, twin.model, tmp_path / kind.value)
        loaded = load_model(kind, tmp_path / kind.value)
        X = _rows(twin)
        for output in twin.card.outputs:
            np.testing.assert_array_equal(
                loaded.predict_outputs(X, output),  # type: ignore[attr-defined]
                twin.model.predict_outputs(X, output),  # type: ignore[attr-defined]
            )


@pytest.mark.parametrize(
    ("kind", "data", "match"),
    [
        (TwinKind.PK_VANCOMYCIN, {"dialysis": False, "infusion_h": 1.0}, "missing"),
        (
            TwinKind.PK_VANCOMYCIN,
            {"dialysis": False, "infusion_h": 1.0, "dt_max": 0.05, "__class__": "os.system"},
            "unknown",
        ),
        (TwinKind.PK_VANCOMYCIN, {"dialysis": "yes", "infusion_h": 1.0, "dt_max": 0.05}, "bool"),
        (TwinKind.PK_VANCOMYCIN, {"dialysis": False, "infusion_h": True, "dt_max": 0.05}, "float"),
        (TwinKind.PK_VANCOMYCIN, {"dialysis": False, "infusion_h": 1.0, "dt_max": 5.0}, "dt_max"),
        (TwinKind.WINDKESSEL, {"characteristic_resistance": 0.05, "n_steps": 400.5}, "int"),
        (TwinKind.WINDKESSEL, {"characteristic_resistance": 0.05, "n_steps": 5}, "n_steps"),
        (TwinKind.WINDKESSEL, ["characteristic_resistance", 0.05], "JSON object"),
        (
            TwinKind.RADIOTHERAPY,
            {"growth": "exponential", "carrying_capacity": 2000.0, "horizon_days": 180.0,
             "dt_max": 0.05},
            "growth",
        ),
        (TwinKind.GLUCOSE_T1D, {"horizon_h": 24.0, "dt_max": 10.0}, "dt_max"),
        (TwinKind.GLUCOSE_T1D, {"horizon_h": 6.0, "dt_max": 1.0}, "horizon_h"),
        (TwinKind.GLUCOSE_T1D, {"horizon_h": "24", "dt_max": 1.0}, "float"),
    ],
)  # fmt: skip
def test_bad_files_are_refused(kind: TwinKind, data: object, match: str, tmp_path: Path) -> None:
    (tmp_path / model_filename(kind)).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ArtifactFormatError, match=match):
        load_model(kind, tmp_path)


def test_save_refuses_the_class_of_another_kind(tmp_path: Path) -> None:
    with pytest.raises(ArtifactFormatError, match="expected VancomycinTwin"):
        save_model(TwinKind.PK_VANCOMYCIN, WindkesselTwin(), tmp_path)
    with pytest.raises(ArtifactFormatError, match="expected RadiotherapyTwin"):
        save_model(TwinKind.RADIOTHERAPY, object(), tmp_path)


def test_save_refuses_settings_that_would_not_load(tmp_path: Path) -> None:
    with pytest.raises(ArtifactFormatError, match="infusion_h"):
        save_model(TwinKind.PK_VANCOMYCIN, VancomycinTwin(infusion_h=-1.0), tmp_path)
    with pytest.raises(ArtifactFormatError, match="dialysis"):
        save_model(TwinKind.PK_VANCOMYCIN, VancomycinTwin(dialysis=1), tmp_path)  # type: ignore[arg-type]
    assert not (tmp_path / "model.json").exists()


def test_score_predicts_the_named_output(demo: dict[str, DemoTwin]) -> None:
    for twin in demo.values():
        X = _rows(twin)
        for output in twin.card.outputs:
            scores = score(twin.card.kind, twin.model, X, output=output)
            assert scores.probability is None and scores.risk_score is None
            assert scores.value is not None
            expected = twin.model.predict_outputs(X, output)  # type: ignore[attr-defined]
            np.testing.assert_array_equal(scores.value, expected)


def test_score_needs_the_output_for_mechanistic_kinds(demo: dict[str, DemoTwin]) -> None:
    twin = demo["vancomycin-auc"]
    with pytest.raises(ValueError, match="output"):
        score(twin.card.kind, twin.model, _rows(twin))


def test_demo_twins_are_described_completely(demo: dict[str, DemoTwin]) -> None:
    expected = {
        "vancomycin-auc": (TwinKind.PK_VANCOMYCIN, VancomycinTwin, "auc24"),
        "windkessel-map": (TwinKind.WINDKESSEL, WindkesselTwin, "map"),
        "radiotherapy-response": (TwinKind.RADIOTHERAPY, RadiotherapyTwin, "volume_day_180"),
        "glucose-t1d-tir": (TwinKind.GLUCOSE_T1D, GlucoseT1DTwin, "time_in_range"),
    }
    assert set(demo) == set(expected)
    for name, (kind, cls, output) in expected.items():
        twin = demo[name]
        card = twin.card
        assert card.kind is kind and type(twin.model) is cls
        assert card.feature_names == cls.input_names
        assert card.default_output == output
        assert card.outputs == cls.output_names
        assert set(card.intended_purposes) == {"treatment", "research"}
        assert set(card.data_categories) <= DATA_CATEGORIES
        assert card.sensitive_attributes == ("sex", "age_band")
        columns = [*card.feature_names, "sex", "age_band", "y"]
        assert list(twin.evaluation.columns) == columns
        assert len(twin.evaluation) == POPULATION_ROWS
        assert set(twin.evaluation["sex"]) == {0.0, 1.0}
        assert set(twin.evaluation["age_band"]) == {0.0, 1.0, 2.0}
        for spec in card.features:
            column = twin.evaluation[spec.name]
            assert card.envelope[spec.name] == (column.min(), column.max())
            assert spec.minimum <= column.min() and column.max() <= spec.maximum
        assert twin.background.shape == (BACKGROUND_ROWS, len(card.feature_names))
        X = twin.evaluation[list(card.feature_names)].to_numpy(np.float64)
        assert all(any(np.array_equal(b, x) for x in X) for b in twin.background)
        # y is the model output with multiplicative log-normal noise of the stated sigma.
        predicted = twin.model.predict_outputs(X, output)  # type: ignore[attr-defined]
        log_ratio = np.log(twin.evaluation["y"].to_numpy() / predicted)
        assert abs(np.std(log_ratio) - NOISE_SIGMA) < 0.03
        assert abs(np.mean(log_ratio)) < 0.05


def test_demo_twins_are_reproducible(demo: dict[str, DemoTwin]) -> None:
    again = {t.name: t for t in train_mechanistic_twins()}
    for name, twin in demo.items():
        assert again[name].card == twin.card
        assert again[name].evaluation.equals(twin.evaluation)
        np.testing.assert_array_equal(again[name].background, twin.background)


def test_glucose_demo_population_is_the_adult_cohort(demo: dict[str, DemoTwin]) -> None:
    """Validated on the adult subjects (11-20), age bands from their recorded ages, and the
    bolus dosed by each subject's carbohydrate ratio."""
    evaluation = demo["glucose-t1d-tir"].evaluation
    cohort = virtual_cohort()
    subjects = evaluation["subject"].to_numpy().astype(int)
    assert set(subjects) == set(range(11, 21))
    ages = cohort.age[subjects - 1]
    expected = np.digitize(ages, [40.0, 65.0])
    np.testing.assert_array_equal(evaluation["age_band"].to_numpy(), expected)
    assert all((evaluation["age_band"] == band).sum() >= 30 for band in (0.0, 1.0, 2.0))
    dose = evaluation["carbs_g"] / cohort.carb_ratio[subjects - 1]
    assert np.median(evaluation["bolus_u"] / dose) == pytest.approx(1.0, abs=0.1)
