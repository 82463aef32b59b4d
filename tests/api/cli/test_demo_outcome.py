"""The demo words each released outcome as the card states it, with its unit."""

from __future__ import annotations

import pytest

from api.cli.demo_outcome import (
    contribution,
    contribution_unit,
    feature_value,
    outcome_sentence,
    output_unit,
    scale_sentence,
)
from models.card import FeatureSpec, TwinCard, TwinKind
from models.demo_twins import GBSG2_SPECS, WHAS500_SPECS
from models.warfarin.demo import SPECS as WARFARIN_SPECS


def _card(kind: TwinKind, outcome: str, specs: tuple[FeatureSpec, ...], **kw: object) -> TwinCard:
    extra = kw.pop("extra", {})
    return TwinCard(
        kind=kind,
        description="",
        outcome=outcome,
        intended_purposes=("treatment",),
        features=specs,
        envelope={},
        sensitive_attributes=(),
        data_categories=("vitals",),
        extra=dict(extra),  # type: ignore[call-overload]
        **kw,  # type: ignore[arg-type]
    )


WHAS = _card(TwinKind.LOGISTIC_REGRESSION, "death during follow-up", WHAS500_SPECS, threshold=0.5)
GBSG2 = _card(TwinKind.COX_PH, "recurrence or death", GBSG2_SPECS, horizon=1826.0)
VANCO = _card(
    TwinKind.PK_VANCOMYCIN,
    "vancomycin exposure at steady state: AUC over 24 h (mg·h/L)",
    (FeatureSpec("dose_mg", "float", "mg", 250, 3000),),
    extra={"output": "auc24", "outputs": ["auc24", "peak", "trough"]},
)
WARFARIN = _card(
    TwinKind.IWPC_WARFARIN, "weekly dose", WARFARIN_SPECS, extra={"output_unit": "mg/week"}
)


def test_a_probability_is_a_percentage_of_the_cards_outcome_beside_its_threshold() -> None:
    prediction = {"kind": "probability", "value": 0.2344, "threshold": 0.5}
    assert outcome_sentence(WHAS, prediction) == (
        "probability of death during follow-up: 23.4 % (below the operating threshold of 50 %)"
    )
    explanation = {"output_space": "log_odds", "base_value": 0.0, "output_value": -1.185}
    assert scale_sentence(WHAS, explanation) == (
        "explained in log-odds: the reference average +0.00 (50 %) moves to this "
        "patient's -1.19 (23.4 %)"
    )
    assert contribution_unit(WHAS, "log_odds") == "log-odds"
    ranged = {**prediction, "range": {"low": 0.152, "high": 0.31, "of": "probability",
                                      "meaning": "estimate"}}  # fmt: skip
    assert outcome_sentence(WHAS, ranged).startswith(
        "probability of death during follow-up: 23.4 % (90 % range 15.2\u201331 %) (below"
    )


def test_a_survival_twin_says_its_survival_at_the_horizon_not_only_a_risk_score() -> None:
    prediction = {
        "kind": "risk_score",
        "value": 1.234,
        "survival_probability": 0.712,
        "horizon": 1826.0,
        "horizon_unit": "days",
    }
    assert outcome_sentence(GBSG2, prediction) == (
        "probability of no recurrence or death within 1826 days: 71.2 % (relative risk score 1.23)"
    )
    prediction["range"] = {"low": 0.6, "high": 0.8, "of": "survival_probability"}
    assert "71.2 % (90 % range 60\u201380 %) (relative" in outcome_sentence(GBSG2, prediction)


def test_a_mechanistic_output_carries_the_unit_its_card_states() -> None:
    assert output_unit(VANCO) == "mg·h/L"
    prediction = {"kind": "value", "value": 614.71, "output": "auc24"}
    assert outcome_sentence(VANCO, prediction) == (
        "vancomycin exposure at steady state: AUC over 24 h (auc24): 614.7 mg·h/L"
    )
    outcome = {"low": 500.0, "high": 729.4, "of": "value", "meaning": "outcome"}
    assert outcome_sentence(VANCO, {**prediction, "range": outcome}).endswith(
        "614.7 mg·h/L (90 % range of patients like this one 500.0\u2013729.4 mg·h/L)"
    )
    explanation = {"output_space": "raw", "base_value": 471.1, "output_value": 614.71}
    assert scale_sentence(VANCO, explanation).endswith(
        "from the reference average 471.1 to 614.7 mg·h/L"
    )
    assert output_unit(WARFARIN) == "mg/week"
    assert contribution_unit(WARFARIN, "dose_mg_per_week") == "mg/week"


@pytest.mark.parametrize(
    ("card", "name", "value", "shown"),
    [
        (WHAS, "gender", 1.0, "female (1)"),
        (WHAS, "cvd", 1.0, "yes (1)"),
        (WHAS, "bmi", 39.4905, "39.49 kg/m2"),
        (WARFARIN, "vkorc1", 1.0, "A/G (1)"),
    ],
)
def test_a_patients_value_is_shown_with_its_unit_or_its_label(
    card: TwinCard, name: str, value: float, shown: str
) -> None:
    assert feature_value(card, name, value) == shown


def test_rounding_noise_in_a_contribution_is_zero() -> None:
    assert contribution(-1.56e-13) == "0"
    assert contribution(313.767) == "+314"
