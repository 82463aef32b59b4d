"""Metrics computed for many samples at once: each row of the inputs is one sample.

These are what the bootstrap evaluates on its ``(resamples, n)`` gathered arrays. Each
equals the reference implementation on a single sample (scikit-learn's
``roc_auc_score``/``brier_score_loss``, scikit-survival's ``concordance_index_censored``
and ``kaplan_meier_estimator``); the tests pin that. Undefined values are NaN.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

FloatArray = npt.NDArray[np.float64]

#: scikit-survival's tolerance for tied risk scores.
TIED_TOLERANCE = 1e-8
#: Pair cells per block of the concordance matrices (bounds memory to tens of MB).
_PAIR_CHUNK_CELLS = 1_000_000
_EPS = 1e-12


def auc(y: npt.ArrayLike, score: npt.ArrayLike) -> FloatArray:
    """ROC AUC per row (Mann-Whitney with mid-ranks for ties); NaN for a single class."""
    y_arr = np.atleast_2d(np.asarray(y, dtype=np.float64))
    s_arr = np.atleast_2d(np.asarray(score, dtype=np.float64))
    ranks = rankdata(s_arr, axis=1)
    positives = y_arr.sum(axis=1)
    negatives = y_arr.shape[1] - positives
    rank_sum = (ranks * y_arr).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)
    result: FloatArray = np.where((positives > 0) & (negatives > 0), out, np.nan)
    return result


def brier(y: npt.ArrayLike, probability: npt.ArrayLike) -> FloatArray:
    """Mean squared error of the predicted probability per row."""
    y_arr = np.atleast_2d(np.asarray(y, dtype=np.float64))
    p_arr = np.atleast_2d(np.asarray(probability, dtype=np.float64))
    result: FloatArray = np.mean((p_arr - y_arr) ** 2, axis=1)
    return result


def rates_at(
    y: npt.ArrayLike, probability: npt.ArrayLike, threshold: float
) -> tuple[FloatArray, FloatArray]:
    """(sensitivity, specificity) per row with ``probability >= threshold`` as positive."""
    y_arr = np.atleast_2d(np.asarray(y, dtype=np.float64))
    flagged = np.atleast_2d(np.asarray(probability, dtype=np.float64)) >= threshold
    positives = y_arr.sum(axis=1)
    negatives = y_arr.shape[1] - positives
    with np.errstate(divide="ignore", invalid="ignore"):
        sensitivity = (flagged * y_arr).sum(axis=1) / positives
        specificity = ((~flagged) * (1.0 - y_arr)).sum(axis=1) / negatives
    return (
        np.where(positives > 0, sensitivity, np.nan),
        np.where(negatives > 0, specificity, np.nan),
    )


def logit(probability: npt.ArrayLike) -> FloatArray:
    p = np.clip(np.asarray(probability, dtype=np.float64), _EPS, 1.0 - _EPS)
    result: FloatArray = np.log(p / (1.0 - p))
    return result


def recalibration(
    y: npt.ArrayLike, probability: npt.ArrayLike, iterations: int = 50
) -> tuple[FloatArray, FloatArray]:
    """Logistic recalibration per row: ``(intercept, slope)``.

    ``slope`` is ``b`` of ``logit P(y) = a + b * logit(p)`` (1 is ideal, below 1 means
    predictions too extreme); ``intercept`` is ``a`` of ``logit P(y) = a + logit(p)`` with
    the slope fixed at 1 (calibration-in-the-large, 0 is ideal). Newton-Raphson, NaN where
    it does not converge (e.g. separation in a small sample).
    """
    y_arr = np.atleast_2d(np.asarray(y, dtype=np.float64))
    lp = logit(np.atleast_2d(np.asarray(probability, dtype=np.float64)))
    rows = y_arr.shape[0]
    # offset model: one parameter
    a = np.zeros(rows)
    ok_a = np.zeros(rows, dtype=bool)
    for _ in range(iterations):
        mu = _sigmoid(a[:, None] + lp)
        grad = (y_arr - mu).sum(axis=1)
        hess = (mu * (1.0 - mu)).sum(axis=1)
        step = np.where(hess > 0, grad / np.maximum(hess, _EPS), 0.0)
        a = a + np.clip(step, -5.0, 5.0)
        ok_a = np.abs(step) < 1e-10
        if ok_a.all():
            break
    # slope model: two parameters
    c = np.zeros(rows)
    b = np.ones(rows)
    ok_b = np.zeros(rows, dtype=bool)
    for _ in range(iterations):
        mu = _sigmoid(c[:, None] + b[:, None] * lp)
        r = y_arr - mu
        w = mu * (1.0 - mu)
        g0, g1 = r.sum(axis=1), (r * lp).sum(axis=1)
        h00, h01, h11 = w.sum(axis=1), (w * lp).sum(axis=1), (w * lp * lp).sum(axis=1)
        det = h00 * h11 - h01 * h01
        safe = np.abs(det) > _EPS
        d0 = np.where(safe, (h11 * g0 - h01 * g1) / np.where(safe, det, 1.0), 0.0)
        d1 = np.where(safe, (h00 * g1 - h01 * g0) / np.where(safe, det, 1.0), 0.0)
        c, b = c + np.clip(d0, -5.0, 5.0), b + np.clip(d1, -5.0, 5.0)
        ok_b = safe & (np.abs(d0) < 1e-10) & (np.abs(d1) < 1e-10)
        if ok_b.all():
            break
    return np.where(ok_a, a, np.nan), np.where(ok_b, b, np.nan)


def _sigmoid(z: FloatArray) -> FloatArray:
    result: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return result


def concordance(
    event: npt.ArrayLike, time: npt.ArrayLike, risk: npt.ArrayLike, weights: npt.ArrayLike
) -> FloatArray:
    """Harrell's C per row of ``weights`` (how often each record was drawn), with
    scikit-survival's rules; ``event``, ``time`` and ``risk`` are one sample.

    A pair (i, j) is comparable when i has an event and j's time is later, or equal with
    j censored; it is concordant when i's risk is higher, and counts 1/2 when the risks
    tie within :data:`TIED_TOLERANCE`. A record is never comparable with itself, so a
    resample's C is ``w' (A * S) w / w' A w`` over the sample's pair matrices (A:
    comparable, S: score): one matrix product per block of records instead of a pair
    loop per resample. NaN without comparable pairs.
    """
    e = np.asarray(event, dtype=bool).reshape(-1)
    t = np.asarray(time, dtype=np.float64).reshape(-1)
    r = np.asarray(risk, dtype=np.float64).reshape(-1)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    n = e.size
    numerator = np.zeros(w.shape[0])
    denominator = np.zeros(w.shape[0])
    block = max(1, _PAIR_CHUNK_CELLS // max(1, n))
    for start in range(0, n, block):
        i = slice(start, start + block)
        later = t[None, :] > t[i, None]
        tied_censored = (t[None, :] == t[i, None]) & ~e[None, :]
        comparable = (e[i, None] & (later | tied_censored)).astype(np.float64)
        diff = r[i, None] - r[None, :]
        score = np.where(np.abs(diff) <= TIED_TOLERANCE, 0.5, (diff > 0).astype(np.float64))
        numerator += np.sum(w[:, i] * (w @ (comparable * score).T), axis=1)
        denominator += np.sum(w[:, i] * (w @ comparable.T), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        result: FloatArray = np.where(denominator > 0, numerator / denominator, np.nan)
    return result


def kaplan_meier_at(
    event: npt.ArrayLike, time: npt.ArrayLike, weights: npt.ArrayLike, horizon: float
) -> FloatArray:
    """Kaplan-Meier survival at ``horizon`` per row of ``weights`` (case weights, e.g. how
    often each record was drawn); NaN where no record with weight is followed to the
    horizon. ``event`` and ``time`` are one sample shared by every row."""
    e = np.asarray(event, dtype=bool).reshape(-1)
    t = np.asarray(time, dtype=np.float64).reshape(-1)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    order = np.argsort(t, kind="stable")
    t_sorted, e_sorted, w_sorted = t[order], e[order], w[:, order]
    starts = np.flatnonzero(np.r_[True, t_sorted[1:] != t_sorted[:-1]])
    unique_times = t_sorted[starts]
    deaths = np.add.reduceat(w_sorted * e_sorted, starts, axis=1)
    leaving = np.add.reduceat(w_sorted, starts, axis=1)
    at_risk = np.cumsum(leaving[:, ::-1], axis=1)[:, ::-1]
    upto = unique_times <= horizon
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = np.where(at_risk > 0, 1.0 - deaths / at_risk, 1.0)
    survival = np.prod(np.where(upto, factors, 1.0), axis=1)
    followed = (w_sorted * (t_sorted >= horizon)).sum(axis=1) > 0
    result: FloatArray = np.where(followed, survival, np.nan)
    return result


def weights_of(indices: npt.ArrayLike, n: int) -> FloatArray:
    """How often each of ``n`` records was drawn, per row of ``indices``."""
    idx = np.atleast_2d(np.asarray(indices, dtype=np.int64))
    rows = idx.shape[0]
    flat = (idx + n * np.arange(rows)[:, None]).reshape(-1)
    result: FloatArray = np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)
    return result


def regression_errors(y: npt.ArrayLike, prediction: npt.ArrayLike) -> dict[str, FloatArray]:
    """MAE, RMSE, bias (mean prediction - observed) and skill per row.

    ``skill`` is ``1 - MAE / MAE of predicting the sample's median outcome for everyone``:
    0 means no better than that constant, 1 is perfect; NaN when every outcome is equal.
    ``relative_bias`` is the bias over the mean absolute outcome; ``mare`` the mean
    absolute relative error ``|prediction - observed| / observed`` (NaN unless every
    observed value is positive), the error scale of twins whose error grows with the
    output (see :attr:`models.card.TwinCard.error_scale`); ``mae_sqrt`` the mean
    ``|sqrt(prediction) - sqrt(observed)|`` (NaN unless both are non-negative), the scale
    of twins fitted on the square root of their output.
    """
    y_arr = np.atleast_2d(np.asarray(y, dtype=np.float64))
    p_arr = np.atleast_2d(np.asarray(prediction, dtype=np.float64))
    error = p_arr - y_arr
    mae = np.mean(np.abs(error), axis=1)
    baseline = np.mean(np.abs(y_arr - np.median(y_arr, axis=1, keepdims=True)), axis=1)
    scale = np.mean(np.abs(y_arr), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        skill = np.where(baseline > 0, 1.0 - mae / baseline, np.nan)
        relative_bias = np.where(scale > 0, error.mean(axis=1) / scale, np.nan)
        positive = np.all(y_arr > 0, axis=1)
        mare = np.where(positive, np.mean(np.abs(error) / np.abs(y_arr), axis=1), np.nan)
        both = np.all((y_arr >= 0) & (p_arr >= 0), axis=1)
        root_error = np.abs(np.sqrt(np.abs(p_arr)) - np.sqrt(np.abs(y_arr)))
        mae_sqrt = np.where(both, np.mean(root_error, axis=1), np.nan)
    return {
        "mae": mae,
        "rmse": np.sqrt(np.mean(error**2, axis=1)),
        "bias": error.mean(axis=1),
        "relative_bias": relative_bias,
        "skill": skill,
        "mare": mare,
        "mae_sqrt": mae_sqrt,
    }
