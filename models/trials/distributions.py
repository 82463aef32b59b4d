"""Covariate distributions of a virtual cohort, as data: uniform, or normal / log-normal
truncated to a range (drawn by the inverse distribution function, so every draw lies in
the range and the same uniforms give the same patients).

JSON forms: ``{"kind": "uniform", "low", "high"}``, ``{"kind": "normal", "mean", "sd",
"low", "high"}``, ``{"kind": "lognormal", "median", "cv", "low", "high"}`` (``cv`` the
coefficient of variation: the log-scale SD is ``sqrt(ln(1 + cv^2))``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from models.mechanistic._validation import FloatArray
from models.trials._checks import number
from models.trials.errors import TrialInputError


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    def quantile(self, u: FloatArray) -> FloatArray:
        result: FloatArray = self.low + (self.high - self.low) * u
        return result

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "uniform", "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Normal:
    """Normal(mean, sd) truncated to ``[low, high]``."""

    mean: float
    sd: float
    low: float
    high: float

    def quantile(self, u: FloatArray) -> FloatArray:
        a = ndtr((self.low - self.mean) / self.sd)
        b = ndtr((self.high - self.mean) / self.sd)
        x = self.mean + self.sd * ndtri(a + (b - a) * u)
        result: FloatArray = np.clip(x, self.low, self.high)
        return result

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "normal",
            "mean": self.mean,
            "sd": self.sd,
            "low": self.low,
            "high": self.high,
        }


@dataclass(frozen=True)
class LogNormal:
    """Log-normal with this median and coefficient of variation, truncated to ``[low, high]``."""

    median: float
    cv: float
    low: float
    high: float

    def quantile(self, u: FloatArray) -> FloatArray:
        log_sd = math.sqrt(math.log1p(self.cv**2))
        on_log = Normal(math.log(self.median), log_sd, math.log(self.low), math.log(self.high))
        result: FloatArray = np.clip(np.exp(on_log.quantile(u)), self.low, self.high)
        return result

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "lognormal",
            "median": self.median,
            "cv": self.cv,
            "low": self.low,
            "high": self.high,
        }


Distribution = Uniform | Normal | LogNormal
_KEYS = {
    "uniform": ("low", "high"),
    "normal": ("mean", "sd", "low", "high"),
    "lognormal": ("median", "cv", "low", "high"),
}


def check_distribution(field: str, dist: Distribution, low: float, high: float) -> None:
    """Raise unless ``dist``'s range lies in ``[low, high]`` and its parameters are sound."""
    if not isinstance(dist, Uniform | Normal | LogNormal):
        raise TrialInputError(field, "a uniform, normal or lognormal distribution", dist)
    lo = number(f"{field}.low", dist.low, low, high)
    hi = number(f"{field}.high", dist.high, low, high)
    if hi <= lo:
        raise TrialInputError(f"{field}.high", f"above low = {lo:g}", hi)
    if isinstance(dist, Normal):
        number(f"{field}.mean", dist.mean, low, high)
        number(f"{field}.sd", dist.sd, 0.0, high - low, low_open=True)
    elif isinstance(dist, LogNormal):
        number(f"{field}.median", dist.median, lo, hi)
        number(f"{field}.cv", dist.cv, 0.0, 5.0, low_open=True)


def distribution_from_mapping(field: str, data: Any, low: float, high: float) -> Distribution:
    """A checked distribution from its JSON form (see the module's docstring)."""
    kind = data.get("kind") if isinstance(data, Mapping) else None
    if kind not in _KEYS:
        raise TrialInputError(field, "an object with kind uniform, normal or lognormal", data)
    keys = _KEYS[kind]
    if set(data) != {"kind", *keys}:
        raise TrialInputError(field, f"an object with kind and exactly {', '.join(keys)}", data)
    values = [number(f"{field}.{k}", data[k], -1e9, 1e9) for k in keys]
    dist: Distribution
    if kind == "uniform":
        dist = Uniform(*values)
    elif kind == "normal":
        dist = Normal(*values)
    else:
        dist = LogNormal(*values)
    check_distribution(field, dist, low, high)
    return dist
