"""Range checks shared by the mechanistic twins: each failure names the field and range."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from models.mechanistic.errors import MechanisticInputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def as_float_array(values: npt.ArrayLike, field: str, ndim: int = 1) -> FloatArray:
    """Convert to a contiguous float64 array of ``ndim`` dimensions with finite entries."""
    try:
        array = np.ascontiguousarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MechanisticInputError(field, "an array of numbers") from exc
    if array.ndim != ndim:
        raise MechanisticInputError(field, f"a {ndim}-dimensional array", array.shape)
    if not np.all(np.isfinite(array)):
        raise MechanisticInputError(field, "finite numbers (no NaN or infinity)")
    return array


def check_range(
    values: npt.ArrayLike,
    field: str,
    low: float,
    high: float,
    *,
    low_inclusive: bool = True,
    unit: str = "",
) -> None:
    """Raise :class:`MechanisticInputError` unless every value lies in the range."""
    array = np.asarray(values, dtype=np.float64)
    unit_text = f" {unit}" if unit else ""
    bracket = "[" if low_inclusive else "("
    allowed = f"in {bracket}{low:g}, {high:g}]{unit_text}"
    if not np.all(np.isfinite(array)):
        raise MechanisticInputError(field, allowed + ", finite")
    below = array < low if low_inclusive else array <= low
    bad = below | (array > high)
    if np.any(bad):
        raise MechanisticInputError(field, allowed, float(array[bad].reshape(-1)[0]))


def check_ordered(times: FloatArray, field: str, *, strict: bool = False) -> None:
    """Raise unless ``times`` is non-empty and non-decreasing (increasing if ``strict``)."""
    if times.size == 0:
        raise MechanisticInputError(field, "a non-empty schedule")
    steps = np.diff(times)
    if np.any(steps <= 0.0) if strict else np.any(steps < 0.0):
        order = "strictly increasing" if strict else "in non-decreasing time order"
        raise MechanisticInputError(field, order)


def check_matrix(X: npt.ArrayLike, n_columns: int, names: tuple[str, ...]) -> FloatArray:
    """A 2-D float matrix with ``n_columns`` finite columns (one row may be given as 1-D)."""
    matrix = np.asarray(X, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or matrix.shape[1] != n_columns:
        raise MechanisticInputError(
            "X", f"a matrix with {n_columns} columns ({', '.join(names)})", matrix.shape
        )
    if not np.all(np.isfinite(matrix)):
        raise MechanisticInputError("X", "finite numbers (no NaN or infinity)")
    return np.ascontiguousarray(matrix)


def check_columns(
    X: npt.ArrayLike, names: tuple[str, ...], bounds: tuple[tuple[float, float, str], ...]
) -> FloatArray:
    """:func:`check_matrix`, then every column within its ``(low, high, unit)`` bounds.

    One vectorised comparison for all columns (an exact explanation checks hundreds of
    masked rows per request); on failure, the first offending column is reported by
    :func:`check_range`, naming the field and its allowed range.
    """
    matrix = check_matrix(X, len(names), names)
    lows = np.array([low for low, _, _ in bounds])
    highs = np.array([high for _, high, _ in bounds])
    bad = (matrix < lows) | (matrix > highs)
    if np.any(bad):
        column = int(np.argmax(np.any(bad, axis=0)))
        low, high, unit = bounds[column]
        check_range(matrix[:, column], names[column], low, high, unit=unit)
    return matrix
