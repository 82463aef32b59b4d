"""Confidence intervals of proportions: Wilson's score interval and Newcombe's hybrid score
interval of a difference of two independent proportions (both 95 % by default).

Wilson EB. Probable inference, the law of succession, and statistical inference. J Am Stat
Assoc 1927;22:209-212. Newcombe RG. Interval estimation for the difference between
independent proportions: comparison of eleven methods. Stat Med 1998;17:873-890 (method 10).
"""

from __future__ import annotations

import math

from scipy.special import ndtri


def z_value(level: float) -> float:
    """The two-sided standard normal quantile of a ``level`` interval (1.96 for 0.95)."""
    return float(ndtri(0.5 + level / 2.0))


def wilson(hits: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of ``hits / n`` (``(0, 1)`` when ``n`` is 0)."""
    if n == 0:
        return 0.0, 1.0
    z = z_value(level)
    p = hits / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(
    hits1: int, n1: int, hits2: int, n2: int, level: float = 0.95
) -> tuple[float, float, float]:
    """``p1 - p2`` and Newcombe's hybrid score interval from the two Wilson intervals."""
    p1 = hits1 / n1 if n1 else 0.0
    p2 = hits2 / n2 if n2 else 0.0
    l1, u1 = wilson(hits1, n1, level)
    l2, u2 = wilson(hits2, n2, level)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high
