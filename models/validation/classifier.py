"""Held-out performance of a classifier: discrimination, accuracy and calibration.

Point estimates come from scikit-learn on the whole sample; intervals from the percentile
bootstrap over the same rows (:mod:`models.validation.rowwise`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score

from models.validation import rowwise
from models.validation.bootstrap import BootstrapSettings, Estimate, interval, resample_indices
from models.validation.result import Performance

#: Risk deciles: the usual resolution of a calibration plot for a few hundred patients.
CALIBRATION_BINS = 10


def classifier_performance(
    y: npt.ArrayLike,
    probability: npt.ArrayLike,
    threshold: float,
    settings: BootstrapSettings,
    stream: tuple[int, ...] = (),
    full: bool = True,
) -> Performance:
    """AUC, Brier score, calibration and the operating point's sensitivity/specificity.

    ``full`` adds the calibration slope and intercept, the operating point and the
    calibration curve (quantile bins); groups get the core metrics only.
    """
    y_arr = np.asarray(y, dtype=np.float64).reshape(-1)
    p_arr = np.asarray(probability, dtype=np.float64).reshape(-1)
    n = y_arr.size
    idx = resample_indices(n, settings, *stream)
    yb, pb = y_arr[idx], p_arr[idx]
    level = settings.level
    positives = int(y_arr.sum())
    single_class = positives in (0, n)
    metrics: dict[str, Estimate] = {
        "auc": interval(
            np.nan if single_class else float(roc_auc_score(y_arr, p_arr)),
            rowwise.auc(yb, pb),
            level,
        ),
        "brier": interval(float(brier_score_loss(y_arr, p_arr)), rowwise.brier(yb, pb), level),
        "calibration_in_the_large": interval(
            float(np.mean(p_arr) - np.mean(y_arr)), pb.mean(axis=1) - yb.mean(axis=1), level
        ),
    }
    curves: dict[str, Any] = {}
    if full:
        intercept, slope = rowwise.recalibration(y_arr, p_arr)
        b_intercept, b_slope = rowwise.recalibration(yb, pb)
        metrics["calibration_intercept"] = interval(float(intercept[0]), b_intercept, level)
        metrics["calibration_slope"] = interval(float(slope[0]), b_slope, level)
        sens, spec = rowwise.rates_at(y_arr, p_arr, threshold)
        b_sens, b_spec = rowwise.rates_at(yb, pb, threshold)
        metrics["sensitivity"] = interval(float(sens[0]), b_sens, level)
        metrics["specificity"] = interval(float(spec[0]), b_spec, level)
        curves["calibration_curve"] = calibration_bins(y_arr, p_arr)
        curves["threshold"] = float(threshold)
    return Performance(
        n=n,
        metrics=metrics,
        counts={"positives": positives, "negatives": n - positives},
        curves=curves,
    )


def calibration_bins(y: npt.ArrayLike, probability: npt.ArrayLike) -> dict[str, Any]:
    """scikit-learn's ``calibration_curve`` (quantile bins) with the count of each bin."""
    y_arr = np.asarray(y, dtype=np.float64).reshape(-1)
    p_arr = np.asarray(probability, dtype=np.float64).reshape(-1)
    observed, predicted = calibration_curve(
        y_arr, p_arr, n_bins=CALIBRATION_BINS, strategy="quantile"
    )
    # the same bins as scikit-learn's implementation, to report how many fall in each
    edges = np.percentile(p_arr, np.linspace(0.0, 1.0, CALIBRATION_BINS + 1) * 100)
    ids = np.searchsorted(edges[1:-1], p_arr)
    counts = np.bincount(ids, minlength=CALIBRATION_BINS)
    return {
        "strategy": "quantile",
        "bins": CALIBRATION_BINS,
        "mean_predicted": [float(v) for v in predicted],
        "observed_rate": [float(v) for v in observed],
        "count": [int(c) for c in counts[counts > 0]],
    }
