"""Held-out error of a regressor or of a mechanistic twin's output.

MAE, RMSE, bias (mean prediction - observed), the bias relative to the mean absolute
outcome, the mean absolute relative error (when every outcome is positive), the mean
absolute error of the square roots (when no outcome or prediction is negative), and skill:
``1 - MAE / MAE of predicting the median outcome for everyone``,
a unit-free score that policies can bound for any output.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.metrics import mean_absolute_error, root_mean_squared_error

from models.validation import rowwise
from models.validation.bootstrap import BootstrapSettings, Estimate, interval, resample_indices
from models.validation.result import Performance


def regression_performance(
    y: npt.ArrayLike,
    prediction: npt.ArrayLike,
    settings: BootstrapSettings,
    stream: tuple[int, ...] = (),
    full: bool = True,
) -> Performance:
    """Error metrics with intervals (``full`` adds skill and relative bias)."""
    y_arr = np.asarray(y, dtype=np.float64).reshape(-1)
    p_arr = np.asarray(prediction, dtype=np.float64).reshape(-1)
    idx = resample_indices(y_arr.size, settings, *stream)
    point = rowwise.regression_errors(y_arr, p_arr)
    boot = rowwise.regression_errors(y_arr[idx], p_arr[idx])
    # the library's figures are the point estimates
    point["mae"] = np.array([mean_absolute_error(y_arr, p_arr)])
    point["rmse"] = np.array([root_mean_squared_error(y_arr, p_arr)])
    names: tuple[str, ...] = (
        ("mae", "rmse", "bias", "relative_bias", "skill") if full else ("mae", "rmse", "bias")
    )
    if bool(np.all(y_arr > 0)):
        names += ("mare",)
    if bool(np.all(y_arr >= 0) and np.all(p_arr >= 0)):
        names += ("mae_sqrt",)
    metrics: dict[str, Estimate] = {
        name: interval(float(point[name][0]), boot[name], settings.level) for name in names
    }
    return Performance(n=int(y_arr.size), metrics=metrics)
