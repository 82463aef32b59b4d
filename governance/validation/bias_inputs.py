"""Input checks and limits of the bias audits: arrays are coerced and checked (raising
:class:`~governance.errors.InvalidInput`), limits read from the ``[bias_audit]`` table
(raising :class:`~governance.errors.PolicyError`: fail closed). The limits are described
in :mod:`governance.validation.bias_audit`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from governance.errors import InvalidInput, PolicyError
from models.validation.report import group_labels

FloatArray = npt.NDArray[np.float64]
Labels = npt.NDArray[np.str_]


# -- inputs ---------------------------------------------------------------------------------
def floats(values: npt.ArrayLike, name: str, n: int | None) -> FloatArray:
    """``values`` as a non-empty, finite float array (of ``n`` values when ``n`` is given)."""
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name} must be numbers: {exc}", field=name) from exc
    if n is not None and arr.shape[0] != n:
        raise InvalidInput(f"{name} has {arr.shape[0]} values, expected {n}", field=name)
    if arr.shape[0] == 0:
        raise InvalidInput(f"{name} is empty", field=name)
    if not np.all(np.isfinite(arr)):
        raise InvalidInput(f"{name} contains NaN or infinite values", field=name)
    return arr


def require_positive(values: FloatArray, name: str) -> None:
    """Refuse zero or negative observations (a relative error is undefined for them)."""
    bad = int(np.sum(values <= 0))
    if bad:
        raise InvalidInput(
            f"{name} has {bad} zero or negative observations: a relative error "
            "|pred - obs| / obs is undefined for them; use the absolute error scale, or "
            "audit an output that is positive wherever it is observed",
            field=name,
        )


def require_non_negative(values: FloatArray, name: str) -> None:
    """Refuse negative values (their square root, the sqrt error scale, is undefined)."""
    bad = int(np.sum(values < 0))
    if bad:
        raise InvalidInput(
            f"{name} has {bad} negative values: the sqrt error scale |sqrt(pred) - "
            "sqrt(obs)| is undefined for them; use the absolute error scale",
            field=name,
        )


def binary(values: npt.ArrayLike, name: str) -> npt.NDArray[np.int64]:
    """``values`` as 0/1 integers (booleans accepted)."""
    arr = floats(values, name, None)
    if not np.all((arr == 0) | (arr == 1)):
        raise InvalidInput(f"{name} must contain only 0/1 (or booleans)", field=name)
    return arr.astype(np.int64)


def sensitive_labels(values: npt.ArrayLike, name: str, n: int) -> Labels:
    """The ``n`` values of sensitive attribute ``name`` as group labels (strings)."""
    raw = np.asarray(values, dtype=object).reshape(-1)
    if raw.shape[0] != n:
        raise InvalidInput(
            f"sensitive attribute {name!r} has {raw.shape[0]} values, expected {n}", field=name
        )
    return group_labels(raw)


# -- limits ---------------------------------------------------------------------------------
def limit_number(limits: Mapping[str, Any], key: str, where: str) -> float:
    """The required non-negative number ``key`` of table ``[where]``."""
    value = limits.get(key)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(float(value))
        or float(value) < 0
    ):
        raise PolicyError(
            f"thresholds.toml [{where}] {key} is required: a non-negative number (found {value!r})"
        )
    return float(value)


def size_limits(limits: Mapping[str, Any], *, events: bool) -> tuple[int, int]:
    """``(min_group_size, min_group_events)``; the latter is 0 unless ``events``."""
    size = int(limit_number(limits, "min_group_size", "bias_audit"))
    n_events = int(limit_number(limits, "min_group_events", "bias_audit")) if events else 0
    return size, n_events


def limit_section(limits: Mapping[str, Any], kind: str, keys: tuple[str, ...]) -> dict[str, float]:
    """The required ``keys`` of table ``[bias_audit.<kind>]``."""
    table = limits.get(kind)
    if not isinstance(table, Mapping):
        raise PolicyError(
            f"thresholds.toml [bias_audit.{kind}] is required (keys: {', '.join(keys)})"
        )
    return {k: limit_number(table, k, f"bias_audit.{kind}") for k in keys}
