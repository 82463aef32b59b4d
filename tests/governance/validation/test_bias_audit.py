"""Bias audits judge error-rate parity and per-group quality; thin evidence never passes."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sksurv.metrics import concordance_index_censored
from sksurv.nonparametric import kaplan_meier_estimator

from governance.errors import InvalidInput, PolicyError
from governance.validation.bias_audit import audit_classifier, audit_regressor, audit_survival
from models.card import FeatureSpec, TwinCard, TwinKind
from models.errors import CardError

N = 4000
HORIZON = 5.0


def limits(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "max_age_days": 180,
        "min_group_size": 30,
        "min_group_events": 10,
        "classifier": {
            "max_tpr_gap": 0.10,
            "max_fpr_gap": 0.10,
            "min_auc": 0.70,
            "max_calibration_error": 0.05,
        },
        "survival": {
            "min_concordance": 0.65,
            "max_concordance_gap": 0.10,
            "max_calibration_error": 0.05,
        },
        "regressor": {"max_mae_ratio": 1.25},
    }
    base.update(overrides)
    return base


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


def cohort(rng: np.random.Generator) -> dict[str, Any]:
    x = rng.normal(size=N)
    sex = rng.integers(1, 3, size=N)  # numeric codes 1/2
    gender = rng.integers(0, 2, size=N).astype(float)  # float codes 0.0/1.0
    site = rng.choice(np.array(["north", "south", "east"]), size=N)
    return {"x": x, "sensitive": {"sex": sex, "gender": gender, "site": site}}


def calibrated_classifier(rng: np.random.Generator) -> tuple[Any, Any, dict[str, Any]]:
    c = cohort(rng)
    proba = 1.0 / (1.0 + np.exp(-(2.0 * c["x"] - 0.5)))
    y = rng.binomial(1, proba)
    return y, proba, c["sensitive"]


def test_a_fair_classifier_passes(rng: np.random.Generator) -> None:
    y, proba, sensitive = calibrated_classifier(rng)
    result = audit_classifier(y, proba, 0.5, sensitive, limits())
    assert result.passed, result.reasons
    sex = result.attributes["sex"]
    assert set(sex.group_sizes) == {"1", "2"}
    assert set(result.attributes["gender"].group_sizes) == {"0", "1"}
    assert set(result.attributes["site"].group_sizes) == {"east", "north", "south"}
    assert set(sex.metrics) == {"tpr", "fpr", "auc", "calibration_error"}
    assert sex.gaps["tpr"] == pytest.approx(abs(sex.metrics["tpr"]["1"] - sex.metrics["tpr"]["2"]))
    names = {c.name for c in sex.criteria}
    assert names == {"max_tpr_gap", "max_fpr_gap", "min_auc", "max_calibration_error"}
    # Demographic parity is not a criterion.
    assert not any("selection" in n or "parity" in n for n in names)


def test_a_large_tpr_gap_fails_naming_the_attribute(rng: np.random.Generator) -> None:
    y, proba, sensitive = calibrated_classifier(rng)
    unfair = proba.copy()
    women = sensitive["sex"] == 2
    unfair[women] = np.clip(unfair[women] - 0.25, 0.0, 1.0)  # misses positives of group 2
    result = audit_classifier(y, unfair, 0.5, sensitive, limits())
    assert not result.passed
    assert any(r.startswith("sex: TPR") and "max_tpr_gap" in r for r in result.reasons)
    assert result.attributes["sex"].passed is False
    # (The shift also miscalibrates other groups; but no other attribute has a TPR gap.)
    assert not any(r.startswith(("site: TPR", "gender: TPR")) for r in result.reasons)
    tpr_gap = next(c for c in result.attributes["sex"].criteria if c.name == "max_tpr_gap")
    assert tpr_gap.value > 0.2 and not tpr_gap.passed


def test_a_poor_group_auc_fails(rng: np.random.Generator) -> None:
    y, proba, sensitive = calibrated_classifier(rng)
    noisy = proba.copy()
    south = sensitive["site"] == "south"
    noisy[south] = rng.permutation(noisy[south])  # uninformative, still calibrated overall
    result = audit_classifier(y, noisy, 0.5, sensitive, limits())
    assert any(r.startswith("site: group 'south' AUC") for r in result.reasons)


def test_a_tiny_group_fails_for_lack_of_evidence(rng: np.random.Generator) -> None:
    y, proba, _ = calibrated_classifier(rng)
    ethnicity = np.zeros(N, dtype=int)
    ethnicity[:12] = 1
    result = audit_classifier(y, proba, 0.5, {"ethnicity": ethnicity}, limits())
    assert not result.passed
    assert any(
        "ethnicity: group '1' has 12 records" in r and "too little evidence" in r
        for r in result.reasons
    )


def test_too_few_positives_fail(rng: np.random.Generator) -> None:
    y, proba, _ = calibrated_classifier(rng)
    group = np.where(np.arange(N) < 2000, "a", "b")
    y = y.copy()
    y[(group == "b")] = 0
    y[np.flatnonzero(group == "b")[:3]] = 1
    result = audit_classifier(y, proba, 0.5, {"g": group}, limits())
    assert any("g: group 'b' has 3 positives" in r for r in result.reasons)


def test_a_single_group_or_no_attribute_fails(rng: np.random.Generator) -> None:
    y, proba, _ = calibrated_classifier(rng)
    one = audit_classifier(y, proba, 0.5, {"sex": np.ones(N)}, limits())
    assert not one.passed and "only one group" in one.reasons[0]
    none = audit_classifier(y, proba, 0.5, {}, limits())
    assert not none.passed and "no sensitive attributes" in none.reasons[0]


def test_missing_sensitive_values_form_their_own_group(rng: np.random.Generator) -> None:
    y, proba, _ = calibrated_classifier(rng)
    codes = rng.integers(1, 3, size=N).astype(float)
    codes[:500] = np.nan
    result = audit_classifier(y, proba, 0.5, {"sex": codes}, limits())
    assert set(result.attributes["sex"].group_sizes) == {"1", "2", "missing"}


def test_to_dict_is_json_safe(rng: np.random.Generator) -> None:
    y, proba, sensitive = calibrated_classifier(rng)
    sensitive = {**sensitive, "tiny": np.r_[np.ones(5), np.zeros(N - 5)]}
    y = y.copy()
    y[:5] = 1  # group "1" of tiny has one class only: its AUC is undefined
    data = audit_classifier(y, proba, 0.5, sensitive, limits()).to_dict()
    text = json.dumps(data, allow_nan=False)
    back = json.loads(text)
    assert back["passed"] is False
    assert back["attributes"]["tiny"]["metrics"]["auc"]["1"] is None
    crit = back["attributes"]["sex"]["criteria"][0]
    assert set(crit) == {"name", "group", "value", "op", "limit", "passed"}
    assert back["attributes"]["sex"]["group_sizes"]["1"] > 0


def test_limits_are_required(rng: np.random.Generator) -> None:
    y, proba, sensitive = calibrated_classifier(rng)
    with pytest.raises(PolicyError, match="min_group_size"):
        audit_classifier(y, proba, 0.5, sensitive, {"classifier": {}})
    bad = limits(
        classifier={
            "max_tpr_gap": 0.1,
            "max_fpr_gap": "0.1",
            "min_auc": 0.7,
            "max_calibration_error": 0.05,
        }
    )
    with pytest.raises(PolicyError, match=r"\[bias_audit.classifier\] max_fpr_gap"):
        audit_classifier(y, proba, 0.5, sensitive, bad)
    with pytest.raises(PolicyError, match=r"\[bias_audit.regressor\]"):
        audit_regressor(y, proba, sensitive, limits(regressor=None))


def test_inputs_are_checked(rng: np.random.Generator) -> None:
    y, proba, sensitive = calibrated_classifier(rng)
    with pytest.raises(InvalidInput, match="proba"):
        audit_classifier(y, proba[:-1], 0.5, sensitive, limits())
    with pytest.raises(InvalidInput, match="0/1"):
        audit_classifier(y * 2, proba, 0.5, sensitive, limits())
    with pytest.raises(InvalidInput, match="sex"):
        audit_classifier(y, proba, 0.5, {"sex": sensitive["sex"][:10]}, limits())
    with pytest.raises(InvalidInput, match="NaN"):
        audit_classifier(y, np.r_[np.nan, proba[1:]], 0.5, sensitive, limits())


# -- survival ----------------------------------------------------------------------------
def survival_data(rng: np.random.Generator) -> dict[str, Any]:
    c = cohort(rng)
    rate = 0.1 * np.exp(c["x"])
    event_time = rng.exponential(1.0 / rate)
    censor = rng.uniform(0.0, 30.0, size=N)
    return {
        "time": np.minimum(event_time, censor),
        "event": event_time <= censor,
        "risk": c["x"],
        "surv": np.exp(-rate * HORIZON),
        "sensitive": c["sensitive"],
    }


def test_a_fair_survival_model_passes(rng: np.random.Generator) -> None:
    d = survival_data(rng)
    result = audit_survival(
        d["time"], d["event"], d["risk"], d["surv"], HORIZON, d["sensitive"], limits()
    )
    assert result.passed, result.reasons
    sex = result.attributes["sex"]
    assert set(sex.metrics) == {"concordance", "calibration_error"}
    assert all(0.65 < v < 0.9 for v in sex.metrics["concordance"].values())


def _group_name(value: Any) -> str:
    """How the audit names a group: whole-number codes without ".0"."""
    return str(int(value)) if isinstance(value, float | np.floating) else str(value)


def test_survival_audit_figures_are_sksurvs(rng: np.random.Generator) -> None:
    """The figures the audit computes with our own estimators (no GPL code in the server)
    are scikit-survival's, bit for bit, for every group of every attribute."""
    d = survival_data(rng)
    d["time"] = np.round(d["time"], 1)  # tied times
    d["risk"] = np.round(d["risk"], 1)  # tied risks
    result = audit_survival(
        d["time"], d["event"], d["risk"], d["surv"], HORIZON, d["sensitive"], limits()
    )
    for attribute, values in d["sensitive"].items():
        metrics = result.attributes[attribute].metrics
        assert len(metrics["concordance"]) == len(np.unique(values)) >= 2
        for group in metrics["concordance"]:  # names as the audit writes them ("0", "1")
            member = np.array([_group_name(v) == group for v in values])
            e, t = d["event"][member], d["time"][member]
            c = concordance_index_censored(e, t, d["risk"][member])[0]
            assert metrics["concordance"][group] == c
            times, survival = kaplan_meier_estimator(e, t)
            observed = survival[np.searchsorted(times, HORIZON, side="right") - 1]
            expected = abs(float(np.mean(d["surv"][member])) - observed)
            assert metrics["calibration_error"][group] == expected


def test_survival_miscalibrated_or_unranked_groups_fail(rng: np.random.Generator) -> None:
    d = survival_data(rng)
    surv = d["surv"].copy()
    two = d["sensitive"]["sex"] == 2
    surv[two] = np.clip(surv[two] + 0.15, 0.0, 1.0)  # optimistic for group 2
    risk = d["risk"].copy()
    east = d["sensitive"]["site"] == "east"
    risk[east] = rng.normal(size=int(east.sum()))  # no ranking ability in the east
    result = audit_survival(d["time"], d["event"], risk, surv, HORIZON, d["sensitive"], limits())
    assert not result.passed
    assert any(r.startswith("sex: group '2' calibration error") for r in result.reasons)
    assert any(r.startswith("site: group 'east' concordance") for r in result.reasons)
    assert any(r.startswith("site: concordance gap") for r in result.reasons)


def test_survival_needs_events_and_follow_up(rng: np.random.Generator) -> None:
    d = survival_data(rng)
    group = np.where(np.arange(N) < 3000, "a", "b")
    event = d["event"].copy()
    event[group == "b"] = False
    event[np.flatnonzero(group == "b")[:4]] = True
    time = d["time"].copy()
    time[group == "b"] = np.minimum(time[group == "b"], HORIZON / 2)
    result = audit_survival(time, event, d["risk"], d["surv"], HORIZON, {"g": group}, limits())
    assert any("g: group 'b' has 4 observed events" in r for r in result.reasons)
    assert any("g: group 'b' has no follow-up reaching the horizon" in r for r in result.reasons)


# -- regression --------------------------------------------------------------------------
def test_regressor_parity_of_errors(rng: np.random.Generator) -> None:
    c = cohort(rng)
    y = 3.0 * c["x"] + rng.normal(size=N)
    fair = 3.0 * c["x"]
    result = audit_regressor(y, fair, c["sensitive"], limits())
    assert result.passed, result.reasons
    assert result.attributes["sex"].gaps["mae_ratio"] < 1.25
    sloppy = fair + np.where(c["sensitive"]["sex"] == 2, rng.normal(scale=2.0, size=N), 0.0)
    failed = audit_regressor(y, sloppy, c["sensitive"], limits())
    assert not failed.passed
    assert any(r.startswith("sex: MAE ratio") for r in failed.reasons)
    assert failed.attributes["site"].passed


def test_regressor_tiny_group_fails(rng: np.random.Generator) -> None:
    c = cohort(rng)
    y = c["x"]
    group = np.r_[np.full(N - 5, 1), np.full(5, 2)]
    result = audit_regressor(y, y + 0.1, {"sex": group}, limits())
    assert not result.passed
    assert any("group '2' has 5 records" in r for r in result.reasons)


# -- error scale ------------------------------------------------------------------------------
def heavy_tailed_twin(
    rng: np.random.Generator, sigma: float | npt.NDArray[np.float64] = 0.15
) -> tuple[Any, Any, dict[str, Any]]:
    """Outputs spanning four orders of magnitude (like tumour volumes), observed with
    multiplicative noise of ``sigma`` (per record): the same relative error for everyone.
    ``age_band`` is a random label; ``site`` b treats tumours ten times larger."""
    site = rng.choice(np.array(["a", "b"]), size=N)
    pred = np.exp(1.9 + 2.0 * rng.normal(size=N)) * np.where(site == "b", 10.0, 1.0)
    obs = pred * np.exp(sigma * rng.normal(size=N))
    return obs, pred, {"age_band": rng.choice(3, size=N), "site": site}


def test_relative_scale_is_the_mean_absolute_relative_error() -> None:
    y = np.r_[np.full(30, 10.0), np.full(40, 200.0)]
    pred = np.r_[np.tile([11.0, 9.5], 15), np.full(40, 230.0)]
    group = np.r_[np.full(30, "a"), np.full(40, "b")]
    result = audit_regressor(y, pred, {"g": group}, limits(), error_scale="relative")
    # by hand: a = (|11 - 10| / 10 + |9.5 - 10| / 10) / 2 = 0.075; b = 30 / 200 = 0.15
    res = result.attributes["g"]
    assert set(res.metrics) == {"mare"}
    assert res.metrics["mare"] == pytest.approx({"a": 0.075, "b": 0.15})
    assert res.gaps["mare_ratio"] == pytest.approx(2.0)
    assert [c.name for c in res.criteria] == ["max_mae_ratio"]
    assert not result.passed
    assert result.reasons[0].startswith("g: MARE (mean absolute relative error) ratio")
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert (data["error_scale"], data["error_metric"]) == ("relative", "mare")
    assert data["attributes"]["g"]["metrics"]["mare"]["b"] == pytest.approx(0.15)


def test_a_heavy_tailed_fair_twin_passes_on_the_relative_scale(
    rng: np.random.Generator,
) -> None:
    obs, pred, sensitive = heavy_tailed_twin(rng)
    absolute = audit_regressor(obs, pred, sensitive, limits())
    assert not absolute.passed
    assert absolute.attributes["site"].gaps["mae_ratio"] > 5.0  # larger tumours, larger MAE
    relative = audit_regressor(obs, pred, sensitive, limits(), error_scale="relative")
    assert relative.passed, relative.reasons
    assert all(r.gaps["mare_ratio"] < 1.1 for r in relative.attributes.values())


def test_an_unfair_twin_still_fails_on_the_relative_scale(rng: np.random.Generator) -> None:
    site = rng.choice(np.array(["a", "b"]), size=N)
    obs, pred, sensitive = heavy_tailed_twin(rng, sigma=np.where(site == "b", 0.30, 0.15))
    sensitive = {"site": site}
    result = audit_regressor(obs, pred, sensitive, limits(), error_scale="relative")
    assert not result.passed
    assert result.attributes["site"].gaps["mare_ratio"] == pytest.approx(2.0, rel=0.1)
    assert result.reasons[0].startswith("site: MARE")


@pytest.mark.parametrize("bad", [0.0, -3.0])
def test_the_relative_scale_refuses_zero_or_negative_observations(bad: float) -> None:
    y = np.r_[bad, np.full(69, 5.0)]
    group = np.r_[np.full(35, "a"), np.full(35, "b")]
    with pytest.raises(InvalidInput, match="1 zero or negative observations") as info:
        audit_regressor(y, np.full(70, 5.0), {"g": group}, limits(), error_scale="relative")
    assert info.value.field == "y_true"
    audit_regressor(y, np.full(70, 5.0), {"g": group}, limits())  # absolute: no restriction


def test_the_absolute_scale_stays_the_default(rng: np.random.Generator) -> None:
    obs, pred, sensitive = heavy_tailed_twin(rng)
    result = audit_regressor(obs, pred, sensitive, limits())
    assert set(result.attributes["site"].metrics) == {"mae"}
    data = result.to_dict()
    assert (data["error_scale"], data["error_metric"]) == ("absolute", "mae")
    y, proba, groups = calibrated_classifier(rng)
    assert "error_scale" not in audit_classifier(y, proba, 0.5, groups, limits()).to_dict()
    with pytest.raises(InvalidInput, match="error_scale"):
        audit_regressor(obs, pred, sensitive, limits(), error_scale="logarithmic")


def test_the_card_declares_the_error_scale() -> None:
    base = TwinCard(
        kind=TwinKind.RADIOTHERAPY,
        description="tumour response",
        outcome="volume at day 180 (cm3)",
        intended_purposes=("treatment",),
        features=(FeatureSpec("initial_volume", "float", "cm3", 0.01, 1000.0),),
        envelope={},
        sensitive_attributes=("sex",),
        data_categories=("imaging",),
        extra={"output": "volume_day_180", "outputs": ["volume_day_180"]},
    )
    assert base.error_scale == "absolute"  # cards stored before the key existed
    relative = replace(base, extra={**base.extra, "error_scale": "relative"})
    assert TwinCard.from_dict(relative.to_dict()).error_scale == "relative"
    with pytest.raises(CardError, match="error_scale"):
        replace(base, extra={**base.extra, "error_scale": "percent"})
    with pytest.raises(CardError, match="only to twins that predict a value"):
        replace(
            base,
            kind=TwinKind.LOGISTIC_REGRESSION,
            threshold=0.5,
            extra={"error_scale": "relative"},
        )
