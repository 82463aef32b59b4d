"""Held-out validation metrics: point estimates equal the libraries', intervals behave.

Synthetic data and small models only (no demo registry): each test takes milliseconds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    brier_score_loss,
    mean_absolute_error,
    roc_auc_score,
    root_mean_squared_error,
)
from sksurv.metrics import concordance_index_censored
from sksurv.nonparametric import kaplan_meier_estimator

from models.card import FeatureSpec, TwinCard, TwinKind
from models.cox import CoxLinearModel
from models.mechanistic import RadiotherapyTwin, VancomycinTwin, WindkesselTwin
from models.validation import (
    BootstrapSettings,
    ValidationDataError,
    classifier_performance,
    compare,
    interval,
    regression_performance,
    rowwise,
    survival_performance,
    validate,
    verify_mechanistic,
)
from models.validation.survival import concordance_index, harrell_c, kaplan_meier_curve

SETTINGS = BootstrapSettings(resamples=200)


def _classification(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    score = rng.normal(size=n)
    p = 1.0 / (1.0 + np.exp(-1.5 * score))
    y = (rng.random(n) < p).astype(float)
    return y, np.round(p, 2)  # rounding makes ties


def _survival(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    time = np.round(rng.exponential(365.0 * np.exp(-0.7 * risk)), 0) + 1.0  # tied times
    censor = rng.uniform(100.0, 1500.0, n)
    event = time <= censor
    return np.minimum(time, np.round(censor)), event, np.round(risk, 1)


# -- row-wise metrics equal the reference implementations -------------------------------------
def test_rowwise_auc_and_brier_equal_sklearn_on_resamples() -> None:
    y, p = _classification(120)
    idx = np.random.default_rng(1).integers(0, 120, size=(25, 120))
    fast_auc, fast_brier = rowwise.auc(y[idx], p[idx]), rowwise.brier(y[idx], p[idx])
    for row, i in enumerate(idx):
        assert fast_auc[row] == pytest.approx(roc_auc_score(y[i], p[i]), abs=1e-12)
        assert fast_brier[row] == pytest.approx(brier_score_loss(y[i], p[i]), abs=1e-12)
    assert math.isnan(rowwise.auc(np.ones(5), np.arange(5.0))[0])


def test_rowwise_concordance_equals_sksurv_with_ties_and_duplicates() -> None:
    t, e, r = _survival(90)
    idx = np.random.default_rng(2).integers(0, 90, size=(20, 90))
    fast = rowwise.concordance(e, t, r, rowwise.weights_of(idx, 90))
    for row, i in enumerate(idx):
        reference = concordance_index_censored(e[i], t[i], r[i])[0]
        assert fast[row] == pytest.approx(reference, abs=1e-12)


def test_rowwise_kaplan_meier_with_draw_counts_equals_sksurv_on_the_resample() -> None:
    t, e, _ = _survival(80)
    horizon = 300.0
    idx = np.random.default_rng(3).integers(0, 80, size=(15, 80))
    fast = rowwise.kaplan_meier_at(e, t, rowwise.weights_of(idx, 80), horizon)
    for row, i in enumerate(idx):
        times, surv = kaplan_meier_estimator(e[i], t[i])
        at = int(np.searchsorted(times, horizon, side="right")) - 1
        assert fast[row] == pytest.approx(surv[at], abs=1e-12)


def test_recalibration_slope_equals_an_unpenalised_logistic_fit() -> None:
    y, p = _classification(400, seed=4)
    intercept, slope = rowwise.recalibration(y, p)
    lp = rowwise.logit(p).reshape(-1, 1)
    fit = LogisticRegression(penalty=None, tol=1e-10, max_iter=1000).fit(lp, y)
    assert slope[0] == pytest.approx(float(fit.coef_[0, 0]), abs=1e-5)
    # offset model: the mean of sigmoid(a + lp) equals the observed rate at the optimum
    fitted = 1.0 / (1.0 + np.exp(-(intercept[0] + lp[:, 0])))
    assert fitted.mean() == pytest.approx(y.mean(), abs=1e-8)


def _survival_case(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Samples of 1 to 200 records: tied times and risks, all or no events censored."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    time = np.round(rng.exponential(100.0, n) / 10.0 ** rng.integers(0, 3)) + rng.integers(0, 2)
    event = rng.random(n) < rng.random() * 1.2
    risk = np.round(rng.normal(size=n), int(rng.integers(0, 3)))
    return time, event, risk


@pytest.mark.parametrize("seed", range(200))
def test_concordance_and_kaplan_meier_equal_sksurvs_exactly(seed: int) -> None:
    """What the server computes (our code) is scikit-survival's result, bit for bit, and
    undefined where scikit-survival refuses (one record, no event, no comparable pair)."""
    t, e, r = _survival_case(seed)
    try:
        reference: float | None = concordance_index_censored(e, t, r)[0]
    except ValueError:
        reference = None
    if reference is None:
        with pytest.raises(ValueError):
            concordance_index(e, t, r)
        assert math.isnan(harrell_c(e, t, r))
    else:
        assert concordance_index(e, t, r) == reference
    times, survival = kaplan_meier_curve(e, t)
    reference_times, reference_survival = kaplan_meier_estimator(e, t)
    assert np.array_equal(times, reference_times)
    assert np.array_equal(survival, reference_survival)


def test_concordance_refuses_non_finite_risks() -> None:
    t, e, r = _survival(20)
    with pytest.raises(ValueError, match="finite"):
        concordance_index(e, t, np.where(np.arange(20) == 3, np.nan, r))


# -- per family: point estimates, intervals ---------------------------------------------------
def test_classifier_point_estimates_are_sklearns() -> None:
    y, p = _classification(300)
    perf = classifier_performance(y, p, 0.5, SETTINGS)
    assert perf.metrics["auc"].estimate == roc_auc_score(y, p)
    assert perf.metrics["brier"].estimate == brier_score_loss(y, p)
    observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
    curve = perf.curves["calibration_curve"]
    assert curve["observed_rate"] == observed.tolist()
    assert curve["mean_predicted"] == predicted.tolist()
    assert sum(curve["count"]) == 300
    assert perf.counts == {"positives": int(y.sum()), "negatives": 300 - int(y.sum())}
    sensitivity = float(np.mean(p[y == 1] >= 0.5))
    assert perf.metrics["sensitivity"].estimate == pytest.approx(sensitivity)


def test_survival_point_estimates_are_sksurvs() -> None:
    t, e, r = _survival(250)
    s = np.exp(-np.exp(r) * 0.5)
    perf = survival_performance(t, e, r, s, 365.0, SETTINGS)
    assert perf.metrics["concordance"].estimate == concordance_index_censored(e, t, r)[0]
    times, surv = kaplan_meier_estimator(e, t)
    km = float(surv[int(np.searchsorted(times, 365.0, side="right")) - 1])
    assert perf.metrics["observed_survival"].estimate == km
    assert perf.metrics["predicted_survival"].estimate == pytest.approx(float(np.mean(s)))
    assert perf.metrics["calibration_difference"].estimate == pytest.approx(np.mean(s) - km)
    groups = perf.curves["calibration_by_risk_group"]
    assert [g["group"] for g in groups] == [1, 2, 3, 4, 5]
    assert sum(g["n"] for g in groups) == 250


def test_survival_calibration_beyond_follow_up_is_undefined() -> None:
    t, e, r = _survival(60)
    perf = survival_performance(t, e, r, np.full(60, 0.5), float(t.max()) + 10.0, SETTINGS)
    assert math.isnan(perf.metrics["observed_survival"].estimate)
    assert perf.metrics["calibration_difference"].to_dict()["estimate"] is None


def test_regression_point_estimates_are_sklearns() -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(50.0, 10.0, 200)
    pred = y + rng.normal(1.0, 5.0, 200)
    perf = regression_performance(y, pred, SETTINGS)
    assert perf.metrics["mae"].estimate == mean_absolute_error(y, pred)
    assert perf.metrics["rmse"].estimate == root_mean_squared_error(y, pred)
    assert perf.metrics["bias"].estimate == pytest.approx(float(np.mean(pred - y)))
    baseline = np.mean(np.abs(y - np.median(y)))
    skill = 1 - mean_absolute_error(y, pred) / baseline
    assert perf.metrics["skill"].estimate == pytest.approx(skill)


@pytest.mark.parametrize("family", ["classifier", "survival", "regression"])
def test_intervals_contain_the_estimate_and_shrink_with_n(family: str) -> None:
    widths = []
    for n in (100, 2000):
        if family == "classifier":
            y, p = _classification(n)
            metric = classifier_performance(y, p, 0.5, SETTINGS).metrics["auc"]
        elif family == "survival":
            t, e, r = _survival(n)
            metric = survival_performance(t, e, r, np.full(n, 0.5), 200.0, SETTINGS).metrics[
                "concordance"
            ]
        else:
            rng = np.random.default_rng(n)
            y = rng.normal(size=n)
            metric = regression_performance(y, y + rng.normal(size=n), SETTINGS).metrics["mae"]
        assert metric.low <= metric.estimate <= metric.high
        assert metric.resamples == SETTINGS.resamples
        widths.append(metric.width)
    assert widths[1] < widths[0] / 2  # about 1/sqrt(20) as wide


def test_intervals_are_seeded() -> None:
    y, p = _classification(150)
    first = classifier_performance(y, p, 0.5, SETTINGS).to_dict()
    assert classifier_performance(y, p, 0.5, SETTINGS).to_dict() == first
    other = classifier_performance(y, p, 0.5, BootstrapSettings(resamples=200, seed=7))
    assert other.to_dict()["metrics"]["auc"]["low"] != first["metrics"]["auc"]["low"]


def test_too_few_defined_resamples_leave_the_interval_undefined() -> None:
    estimate = interval(0.7, [0.6, 0.7, np.nan, np.nan, np.nan], 0.95)
    assert estimate.to_dict()["low"] is None and estimate.resamples == 2


# -- validate and compare over a card ---------------------------------------------------------
def _card(kind: TwinKind, **extra: object) -> TwinCard:
    features = (FeatureSpec("a", "float", "", -10, 10), FeatureSpec("b", "float", "", -10, 10))
    return TwinCard(
        kind=kind,
        description="test twin",
        outcome="outcome",
        intended_purposes=("research",),
        features=features,
        envelope={},
        sensitive_attributes=("sex",),
        data_categories=("labs",),
        **extra,  # type: ignore[arg-type]
    )


def _frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame["sex"] = rng.integers(0, 2, n).astype(float)
    return frame


def test_validate_a_classifier_overall_and_per_group() -> None:
    frame = _frame()
    frame["y"] = (frame["a"] + 0.5 * np.random.default_rng(1).normal(size=240) > 0).astype(float)
    X = frame[["a", "b"]].to_numpy()
    model = LogisticRegression().fit(X, frame["y"])
    report = validate(_card(TwinKind.LOGISTIC_REGRESSION, threshold=0.5), model, frame, SETTINGS)
    body = report.to_dict()
    assert body["family"] == "classifier" and body["overall"]["n"] == 240
    assert body["overall"]["metrics"]["auc"]["estimate"] == pytest.approx(
        roc_auc_score(frame["y"], model.predict_proba(X)[:, 1])
    )
    groups = body["subgroups"]["sex"]
    assert sorted(groups) == ["0", "1"]
    assert sum(g["n"] for g in groups.values()) == 240
    assert set(groups["0"]["metrics"]) == {"auc", "brier", "calibration_in_the_large"}


def test_validate_a_survival_twin() -> None:
    t, e, _ = _survival(240)
    frame = _frame()
    frame["time"], frame["event"] = t, e.astype(float)
    model = CoxLinearModel(("a", "b"), np.array([0.5, -0.2]), 365.0, 0.6)
    card = _card(TwinKind.COX_PH, horizon=365.0)
    body = validate(card, model, frame, SETTINGS).to_dict()
    assert body["family"] == "survival"
    assert set(body["subgroups"]["sex"]["1"]["metrics"]) >= {"concordance"}
    assert any("horizon" in note for note in body["notes"])


def test_validate_names_what_the_evaluation_set_lacks() -> None:
    frame = _frame().drop(columns=["sex"])
    frame["y"] = 1.0
    with pytest.raises(ValidationDataError, match="sex"):
        validate(_card(TwinKind.RANDOM_FOREST_REGRESSOR), LinearRegression(), frame, SETTINGS)


def test_compare_pairs_two_versions_on_the_same_rows() -> None:
    frame = _frame()
    frame["y"] = 3 * frame["a"] + np.random.default_rng(2).normal(size=240)
    X = frame[["a", "b"]].to_numpy()
    good = LinearRegression().fit(X, frame["y"])
    noisy = frame["y"] + np.random.default_rng(3).normal(0.0, 3.0, 240)
    worse = LinearRegression().fit(X[:40], noisy[:40])
    card = _card(TwinKind.RANDOM_FOREST_REGRESSOR)
    same = compare(card, good, card, good, frame, SETTINGS)
    assert same["skill"]["difference"]["estimate"] == 0.0
    assert same["skill"]["difference"]["low"] == same["skill"]["difference"]["high"] == 0.0
    diff = compare(card, good, card, worse, frame, SETTINGS)["mae"]["difference"]
    assert diff["low"] <= diff["estimate"] <= diff["high"]
    with pytest.raises(ValidationDataError, match="predict different things"):
        compare(
            card, good, _card(TwinKind.LOGISTIC_REGRESSION, threshold=0.5), good, frame, SETTINGS
        )


# -- verification of mechanistic kernels ------------------------------------------------------
def _population(model: object, n: int = 8) -> np.ndarray:
    rng = np.random.default_rng(0)
    if isinstance(model, VancomycinTwin):
        return np.column_stack(
            [rng.uniform(30, 150, n), rng.uniform(50, 100, n), np.full(n, 1000.0), np.full(n, 12.0)]
        )
    if isinstance(model, WindkesselTwin):
        return np.column_stack(
            [rng.uniform(50, 100, n), rng.uniform(50, 90, n), rng.uniform(0.8, 1.4, n),
             rng.uniform(1.0, 2.5, n)]
        )  # fmt: skip
    return np.column_stack(
        [rng.uniform(5, 50, n), rng.uniform(40, 100, n), np.full(n, 0.05), np.full(n, 10.0),
         np.full(n, 60.0), np.full(n, 30.0)]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "model"),
    [
        (TwinKind.PK_VANCOMYCIN, VancomycinTwin()),
        (TwinKind.WINDKESSEL, WindkesselTwin()),
        (TwinKind.RADIOTHERAPY, RadiotherapyTwin()),
        (TwinKind.RADIOTHERAPY, RadiotherapyTwin(growth="gompertz")),
    ],
)
def test_kernels_match_their_closed_forms_and_a_finer_step(kind: TwinKind, model: object) -> None:
    summary = verify_mechanistic(kind, model.fit(), _population(model), 1e-6, seed=1)  # type: ignore[attr-defined]
    assert summary.passed, summary.to_dict()
    assert [c.name for c in summary.checks] == ["code verification", "calculation verification"]
    assert all(c.points == 5 for c in summary.checks)


class _Off:
    """A PK twin whose AUC is 1 % off: a wrong equation, as verification should see it."""

    def __init__(self) -> None:
        self._twin = VancomycinTwin().fit()
        self.output_names = self._twin.output_names

    def kinetic_parameters(self, X: np.ndarray) -> np.ndarray:
        return self._twin.kinetic_parameters(X)

    def predict_outputs(self, X: np.ndarray, output: str) -> np.ndarray:
        return self._twin.predict_outputs(X, output) * 1.01


def test_verification_catches_a_wrong_kernel_and_says_what_it_could_not_check() -> None:
    summary = verify_mechanistic(
        TwinKind.PK_VANCOMYCIN, _Off(), _population(VancomycinTwin()), 1e-6, seed=1
    )
    assert not summary.passed
    code = summary.checks[0]
    assert code.max_relative_error == pytest.approx(0.01, rel=1e-6)
    assert summary.notes == ("the twin exposes no step setting (dt_max or n_steps) to refine",)
    body = summary.to_dict()
    assert body["checks"][0]["passed"] is False
