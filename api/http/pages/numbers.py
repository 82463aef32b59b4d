"""Numbers as people read them on the pages: a few significant digits, never the
sixteen of a float's repr; a missing or non-finite value as a dash. Registered as Jinja
filters (:func:`register`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment

DASH = "—"


def number(value: Any) -> str:
    """``0.877``, ``59.2``, ``1,204``, ``1.9e-15``; ``—`` for None, NaN or infinity."""
    x = _finite(value)
    if x is None:
        return DASH if value is None or isinstance(value, float | int) else str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    size = abs(x)
    if x == round(x) and size < 1e6:
        return f"{int(x):,}"
    if size < 0.001:
        return f"{x:.1e}"
    if size < 1:
        return f"{x:.3f}"
    if size < 10:
        return f"{x:.2f}"
    if size < 1000:
        return f"{x:.1f}"
    return f"{x:,.0f}"


def signed(value: Any) -> str:
    """:func:`number` with its sign: ``+0.012``, ``-0.021``, ``0``."""
    text = number(value)
    x = _finite(value)
    return "+" + text if x is not None and x > 0 else text


def interval(estimate: Any, sign: bool = False) -> str:
    """``[low, high]`` of an estimate mapping (``low``, ``high``); '' when it has none."""
    if not isinstance(estimate, Mapping):
        return ""
    low, high = _finite(estimate.get("low")), _finite(estimate.get("high"))
    if low is None or high is None:
        return ""
    show = signed if sign else number
    return f"[{show(low)}, {show(high)}]"


def percent(value: Any) -> str:
    """A share in [0, 1] as a percentage: ``0.95`` -> ``95 %``."""
    x = _finite(value)
    return DASH if x is None else f"{100 * x:g} %"


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def register(env: Environment) -> None:
    env.filters.update(number=number, signed=signed, interval=interval, percent=percent)
