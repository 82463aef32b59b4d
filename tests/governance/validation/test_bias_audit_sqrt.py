"""The sqrt error scale: groups compared on ``|sqrt(pred) - sqrt(obs)|``, for a model
fitted on the square root of its output (the IWPC warfarin dose), in the bias audit and in
the dossier's subgroup findings."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from governance.errors import InvalidInput
from governance.validation.bias_audit import audit_regressor
from governance.validation.dossier_findings import criteria_findings
from governance.validation.dossier_limits import dossier_limits
from models.validation.bootstrap import BootstrapSettings
from models.validation.regression import regression_performance
from tests.governance.validation.test_bias_audit import limits

N = 4000
THRESHOLDS = Path(__file__).resolve().parents[3] / "policies" / "thresholds.toml"


def dose_twin(
    rng: np.random.Generator, sigma: float | npt.NDArray[np.float64] = 0.8
) -> tuple[Any, Any, npt.NDArray[np.str_]]:
    """Doses whose square roots carry the same noise for everyone; group ``high`` needs
    doses about twice as large (like patients without the VKORC1 A allele)."""
    group = rng.choice(np.array(["low", "high"]), size=N)
    root = np.where(group == "high", 6.5, 4.6) + 0.5 * rng.normal(size=N)
    observed = (root + sigma * rng.normal(size=N)) ** 2
    return observed, root**2, group


def test_the_sqrt_scale_by_hand() -> None:
    y = np.r_[np.full(30, 100.0), np.full(40, 49.0)]
    pred = np.r_[np.tile([81.0, 121.0], 15), np.full(40, 64.0)]
    group = np.r_[np.full(30, "a"), np.full(40, "b")]
    result = audit_regressor(y, pred, {"g": group}, limits(), error_scale="sqrt")
    # by hand: a = (|9 - 10| + |11 - 10|) / 2 = 1; b = |8 - 7| = 1
    res = result.attributes["g"]
    assert set(res.metrics) == {"mae_sqrt"}
    assert res.metrics["mae_sqrt"] == pytest.approx({"a": 1.0, "b": 1.0})
    assert res.gaps["mae_sqrt_ratio"] == pytest.approx(1.0)
    assert result.passed, result.reasons
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert (data["error_scale"], data["error_metric"]) == ("sqrt", "mae_sqrt")


def test_a_twin_fair_on_the_sqrt_scale_passes_there_and_fails_in_dose_units() -> None:
    observed, predicted, group = dose_twin(np.random.default_rng(14))
    absolute = audit_regressor(observed, predicted, {"group": group}, limits())
    assert not absolute.passed  # larger doses, larger errors in mg/week
    relative = audit_regressor(
        observed, predicted, {"group": group}, limits(), error_scale="relative"
    )
    assert not relative.passed  # smaller doses, larger relative errors
    root = audit_regressor(observed, predicted, {"group": group}, limits(), error_scale="sqrt")
    assert root.passed, root.reasons
    assert root.attributes["group"].gaps["mae_sqrt_ratio"] < 1.1


def test_an_unfair_twin_still_fails_on_the_sqrt_scale() -> None:
    rng = np.random.default_rng(15)
    group = rng.choice(np.array(["a", "b"]), size=N)
    observed, predicted, _ = dose_twin(rng, sigma=np.where(group == "b", 1.2, 0.6))
    result = audit_regressor(observed, predicted, {"group": group}, limits(), error_scale="sqrt")
    assert not result.passed
    assert result.attributes["group"].gaps["mae_sqrt_ratio"] == pytest.approx(2.0, rel=0.1)
    assert result.reasons[0].startswith("group: MAE of square roots ratio")


@pytest.mark.parametrize("field", ["y_true", "y_pred"])
def test_the_sqrt_scale_refuses_negative_values(field: str) -> None:
    values = np.r_[-1.0, np.full(69, 25.0)]
    other = np.full(70, 25.0)
    y, pred = (values, other) if field == "y_true" else (other, values)
    group = np.r_[np.full(35, "a"), np.full(35, "b")]
    with pytest.raises(InvalidInput, match="1 negative values") as info:
        audit_regressor(y, pred, {"g": group}, limits(), error_scale="sqrt")
    assert info.value.field == field


def test_validation_reports_and_dossier_findings_use_the_sqrt_scale() -> None:
    settings = BootstrapSettings(resamples=50, level=0.95)
    observed, predicted, group = dose_twin(np.random.default_rng(16))
    overall = regression_performance(observed, predicted, settings).to_dict()
    assert overall["metrics"]["mae_sqrt"]["estimate"] == pytest.approx(
        np.mean(np.abs(np.sqrt(observed) - np.sqrt(predicted)))
    )
    groups = {
        g: regression_performance(observed[group == g], predicted[group == g], settings, (1,))
        for g in ("low", "high")
    }
    validation = {
        "family": "regression",
        "overall": overall,
        "subgroups": {"group": {g: p.to_dict() for g, p in groups.items()}},
    }
    explanation = {
        "additivity": {"rows_checked": 10, "rows_total": 10, "failures": 0},
        "stability": {"rows": 5, "unstable": 0},
    }
    limits_ = dossier_limits(tomllib.loads(THRESHOLDS.read_text(encoding="utf-8")))
    found = criteria_findings(validation, explanation, None, None, limits_, "sqrt")
    subgroup = {f.subject: f for f in found if f.evidence == "subgroup_performance"}
    overall_root = overall["metrics"]["mae_sqrt"]["estimate"]
    for g, perf in groups.items():
        finding = subgroup[f"group={g}"]
        assert "MAE of square roots" in finding.message
        assert finding.value == pytest.approx(perf.metrics["mae_sqrt"].high / overall_root)
        assert finding.passed, finding.message
