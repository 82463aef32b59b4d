"""How ``twinreg demo`` words a released prediction: the outcome as the card states it with
its value and unit (a probability as a percentage, a survival twin's survival at its
horizon, a mechanistic output in its unit), the explanation's scale in words, and each
top contribution beside the patient's value and its unit."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from models.card import TwinCard
from models.group_labels import code_labels

#: The unit a card's outcome ends with, in parentheses: "AUC over 24 h (mg·h/L)".
_TRAILING_UNIT = re.compile(r"\s*\(([^()]+)\)\s*$")
_SCALES = {
    "log_odds": "log-odds",
    "probability": "probability",
    "risk_score": "the Cox model's log relative risk",
}


def output_unit(card: TwinCard) -> str:
    """The unit of the twin's output: ``extra["output_unit"]``, else the unit the card's
    outcome ends with in parentheses; '' when the card gives none."""
    declared = card.extra.get("output_unit")
    if isinstance(declared, str) and declared:
        return declared
    found = _TRAILING_UNIT.search(card.outcome)
    return found.group(1) if found else ""


def outcome_sentence(card: TwinCard, prediction: Mapping[str, Any]) -> str:
    """The prediction as the card states its outcome, with its unit."""
    outcome = _TRAILING_UNIT.sub("", card.outcome)
    kind, value = prediction.get("kind"), float(prediction["value"])
    if kind == "probability":
        text = f"probability of {outcome}: {_percent(value)}{range_words(prediction)}"
        threshold = prediction.get("threshold")
        if threshold is not None:
            side = "at or above" if value >= float(threshold) else "below"
            text += f" ({side} the operating threshold of {_percent(float(threshold))})"
        return text
    if prediction.get("survival_probability") is not None:
        horizon = f"{float(prediction['horizon']):g} {prediction.get('horizon_unit', '')}"
        return (
            f"probability of no {outcome} within {horizon.strip()}: "
            f"{_percent(float(prediction['survival_probability']))}{range_words(prediction)} "
            f"(relative risk score {value:.2f})"
        )
    unit = output_unit(card)
    named = f" ({prediction['output']})" if prediction.get("output") else ""
    return (
        f"{outcome}{named}: {value:,.1f} {unit}".rstrip()
        + ("" if unit else " (no unit given)")
        + range_words(prediction, unit)
    )


def range_words(prediction: Mapping[str, Any], unit: str = "") -> str:
    """`` (90 % range a-b)``: the prediction's range, or '' without one; an outcome's
    range says so."""
    found = prediction.get("range")
    if not isinstance(found, Mapping):
        return ""
    low, high = float(found["low"]), float(found["high"])
    if found.get("of") in ("probability", "survival_probability"):
        ends = f"{_percent(low).removesuffix(' %')}\u2013{_percent(high)}"
    else:
        ends = f"{low:,.1f}\u2013{high:,.1f} {unit}".rstrip()
    what = " of patients like this one" if found.get("meaning") == "outcome" else ""
    return f" (90 % range{what} {ends})"


def scale_sentence(card: TwinCard, explanation: Mapping[str, Any]) -> str:
    """From the reference average to this patient, on the explanation's scale."""
    space = str(explanation["output_space"])
    base, out = float(explanation["base_value"]), float(explanation["output_value"])
    if space == "log_odds":
        return (
            f"explained in log-odds: the reference average {base:+.2f} "
            f"({_percent(_logistic(base))}) moves to this patient's {out:+.2f} "
            f"({_percent(_logistic(out))})"
        )
    unit = contribution_unit(card, space)
    scale = _SCALES.get(space, unit or space)
    text = f"explained in {scale}: from the reference average {base:,.1f} to {out:,.1f} {unit}"
    return text.rstrip()


def contribution_unit(card: TwinCard, space: str) -> str:
    """The unit contributions are in: the output's own for a value twin, else the scale."""
    if space in _SCALES:
        return space.replace("_", "-")
    return output_unit(card)


def feature_value(card: TwinCard, name: str, value: float) -> str:
    """The patient's value of ``name`` with its unit (``58 years``, ``yes``/``no``)."""
    spec = card.feature(name)
    named = code_labels(spec.description).get(f"{value:g}")
    if named:
        return f"{named} ({value:g})"
    if spec.dtype == "binary":
        return "yes (1)" if value >= 0.5 else "no (0)"
    shown = f"{value:.4g}" if math.isfinite(value) else str(value)
    return f"{shown} {spec.unit}".rstrip()


def contribution(value: float) -> str:
    """A contribution with its sign and three significant digits; 0 for rounding noise."""
    return "0" if abs(value) < 1e-9 else f"{value:+.3g}"


def _percent(p: float) -> str:
    return f"{100 * p:.1f}".removesuffix(".0") + " %"


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0
