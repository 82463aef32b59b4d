"""Checks of plain values (numbers from JSON): each failure names the field and the range."""

from __future__ import annotations

import math

from models.trials.errors import TrialInputError


def number(field: str, value: object, low: float, high: float, *, low_open: bool = False) -> float:
    """A finite real number (not a bool) in ``[low, high]`` (``(low, high]`` if ``low_open``)."""
    bracket = "(" if low_open else "["
    allowed = f"a number in {bracket}{low:g}, {high:g}]"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TrialInputError(field, allowed, value)
    x = float(value)
    too_low = x <= low if low_open else x < low
    if not math.isfinite(x) or too_low or x > high:
        raise TrialInputError(field, allowed, value)
    return x


def whole(field: str, value: object, low: int, high: int) -> int:
    """A whole number (not a bool) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TrialInputError(field, f"a whole number in [{low}, {high}]", value)
    return value
