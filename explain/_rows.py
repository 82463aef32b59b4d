"""Input coercion shared by the explainers (private)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from explain.errors import InvalidRowError, ModelMismatchError


def as_row(row: np.ndarray, n_features: int, dtype: type[np.floating]) -> np.ndarray:
    """Return ``row`` as a C-contiguous ``(1, n_features)`` array of ``dtype``."""
    try:
        x = np.ascontiguousarray(row, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidRowError(f"row is not numeric: {exc}") from exc
    if x.shape != (n_features,) and x.shape != (1, n_features):
        raise InvalidRowError(f"expected one row of {n_features} features, got shape {x.shape}")
    x = x.reshape(1, n_features)
    if not np.isfinite(x).all():
        raise InvalidRowError("row contains NaN or infinite values")
    return x


def as_background(background: np.ndarray, n_features: int) -> np.ndarray:
    """Return the background sample as a finite float64 ``(n, n_features)`` array."""
    bg = np.asarray(background, dtype=np.float64)
    if bg.ndim != 2 or bg.shape[0] < 1 or bg.shape[1] != n_features:
        raise ModelMismatchError(
            f"background must have shape (n >= 1, {n_features}), got {bg.shape}"
        )
    if not np.isfinite(bg).all():
        raise ModelMismatchError("background contains NaN or infinite values")
    return bg


def checked_names(feature_names: Sequence[str], n_features: int) -> tuple[str, ...]:
    names = tuple(str(n) for n in feature_names)
    if len(names) != n_features:
        raise ModelMismatchError(f"model has {n_features} features but {len(names)} names given")
    if len(set(names)) != len(names):
        raise ModelMismatchError("feature names must be unique")
    return names


def sigmoid(z: float) -> float:
    """Numerically stable logistic function."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
