"""Held-out performance of a survival model: concordance and calibration at the horizon.

Discrimination is Harrell's C; calibration compares the mean predicted probability of
surviving past the horizon with the Kaplan-Meier estimate at the horizon, overall and
within risk groups (quintiles of the predicted survival). Both estimators are our own code,
equal to scikit-survival's ``concordance_index_censored`` and ``kaplan_meier_estimator``
(GPL-3.0, so used only by the tests that pin the equality).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from models.validation import rowwise
from models.validation.bootstrap import BootstrapSettings, Estimate, interval, resample_indices
from models.validation.result import Performance

#: Risk groups of the calibration table (quintiles of predicted survival).
RISK_GROUPS = 5


def survival_performance(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    risk_score: npt.ArrayLike,
    survival_at_horizon: npt.ArrayLike,
    horizon: float,
    settings: BootstrapSettings,
    stream: tuple[int, ...] = (),
    full: bool = True,
) -> Performance:
    """Harrell's C and calibration at ``horizon`` (``full`` adds the risk-group table)."""
    t = np.asarray(time, dtype=np.float64).reshape(-1)
    e = np.asarray(event, dtype=bool).reshape(-1)
    r = np.asarray(risk_score, dtype=np.float64).reshape(-1)
    s = np.asarray(survival_at_horizon, dtype=np.float64).reshape(-1)
    n = t.size
    idx = resample_indices(n, settings, *stream)
    level = settings.level
    observed = kaplan_meier(e, t, float(horizon))
    weights = rowwise.weights_of(idx, n)
    b_observed = rowwise.kaplan_meier_at(e, t, weights, float(horizon))
    predicted = float(np.mean(s))
    b_predicted = s[idx].mean(axis=1)
    metrics: dict[str, Estimate] = {
        "concordance": interval(harrell_c(e, t, r), rowwise.concordance(e, t, r, weights), level),
        "predicted_survival": interval(predicted, b_predicted, level),
        "observed_survival": interval(observed, b_observed, level),
        "calibration_difference": interval(predicted - observed, b_predicted - b_observed, level),
    }
    curves: dict[str, Any] = {"horizon": float(horizon)}
    if full:
        curves["calibration_by_risk_group"] = risk_group_calibration(e, t, s, float(horizon))
    return Performance(
        n=n,
        metrics=metrics,
        counts={
            "events": int(e.sum()),
            "followed_to_horizon": int(np.sum(t >= horizon)),
        },
        curves=curves,
    )


def concordance_index(event: npt.ArrayLike, time: npt.ArrayLike, risk: npt.ArrayLike) -> float:
    """Harrell's C of ``risk`` (higher risk, earlier event), with scikit-survival's rules
    (:func:`models.validation.rowwise.concordance` on one sample: ties in risk within
    1e-8 count one half, a censored time equal to an event time is later).

    Raises ``ValueError`` where scikit-survival does: lengths differ, fewer than two
    records, non-finite times or risks, every record censored, no comparable pair.
    """
    e = np.asarray(event, dtype=bool).reshape(-1)
    t = np.asarray(time, dtype=np.float64).reshape(-1)
    r = np.asarray(risk, dtype=np.float64).reshape(-1)
    if not e.size == t.size == r.size:
        raise ValueError("event, time and risk must have one value per record")
    if e.size < 2:
        raise ValueError("Harrell's C needs at least two records")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(r))):
        raise ValueError("times and risks must be finite")
    if not e.any():
        raise ValueError("every record is censored")
    c = float(rowwise.concordance(e, t, r, np.ones((1, e.size)))[0])
    if math.isnan(c):
        raise ValueError("no comparable pairs")
    return c


def harrell_c(event: npt.ArrayLike, time: npt.ArrayLike, risk: npt.ArrayLike) -> float:
    """:func:`concordance_index`; NaN where it is undefined."""
    try:
        return concordance_index(event, time, risk)
    except ValueError:
        return math.nan


def kaplan_meier_curve(
    event: npt.ArrayLike, time: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The Kaplan-Meier estimate at every distinct time, ascending: ``(times, survival)``,
    computed as scikit-survival's ``kaplan_meier_estimator`` computes it (the product of
    ``1 - deaths / at risk`` over the distinct times so far)."""
    e = np.asarray(event, dtype=bool).reshape(-1)
    t = np.asarray(time, dtype=np.float64).reshape(-1)
    times, group, leaving = np.unique(t, return_inverse=True, return_counts=True)
    deaths = np.bincount(group, weights=e, minlength=times.size).astype(np.int64)
    at_risk = e.size - np.cumsum(leaving) + leaving
    ratio = np.divide(deaths, at_risk, out=np.zeros(times.size), where=deaths != 0)
    return times, np.cumprod(1.0 - ratio)


def kaplan_meier(event: npt.ArrayLike, time: npt.ArrayLike, horizon: float) -> float:
    """The Kaplan-Meier estimate at ``horizon``; NaN when nobody is followed that long
    (the estimate would be an extrapolation)."""
    e = np.asarray(event, dtype=bool)
    t = np.asarray(time, dtype=np.float64)
    if t.size == 0 or float(np.max(t)) < horizon:
        return math.nan
    times, survival = kaplan_meier_curve(e, t)
    at = int(np.searchsorted(times, horizon, side="right")) - 1
    return 1.0 if at < 0 else float(survival[at])


def risk_group_calibration(
    event: npt.ArrayLike, time: npt.ArrayLike, survival: npt.ArrayLike, horizon: float
) -> list[dict[str, Any]]:
    """Predicted vs Kaplan-Meier survival at the horizon in quintiles of predicted survival."""
    e = np.asarray(event, dtype=bool)
    t = np.asarray(time, dtype=np.float64)
    s = np.asarray(survival, dtype=np.float64)
    order = np.argsort(-s, kind="stable")  # lowest risk first
    rows = []
    for number, members in enumerate(np.array_split(order, RISK_GROUPS), start=1):
        if members.size == 0:
            continue
        observed = kaplan_meier(e[members], t[members], horizon)
        rows.append(
            {
                "group": number,
                "n": int(members.size),
                "events": int(e[members].sum()),
                "mean_predicted": float(np.mean(s[members])),
                "observed": None if math.isnan(observed) else observed,
            }
        )
    return rows
