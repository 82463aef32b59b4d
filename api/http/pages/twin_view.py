"""A patient twin's thread as a clinician reads it: observations with their units, the
latest calibrated state (estimates with 90 % posterior intervals), the latest forecast
(its band, its value against the target) and recommendation (ranked regimens), and every
record in order with its audit id.

Each kind's calibrated parameters are named in words with their units (:data:`PARAMETERS`);
a kind not described there is shown as its numbers (a value with its ``_low``/``_high``
interval when it has one). The forecasts: :mod:`api.http.pages.twin_forecasts`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governance.policy.observation_kinds import ObservationKind
from governance.twins.views import Record

Z90 = 1.6448536269514722


@dataclass(frozen=True)
class Parameter:
    """A calibrated parameter in words: its unit, and the index of the log-scale deviation
    (η) whose posterior SD gives its 90 % interval (``None``: held, with ``note``).
    ``symbol``: the conventional symbol shown once after the words (``CL``, a Greek
    letter); none for a parameter whose words say it all (the calibration's code name is
    never shown)."""

    words: str
    unit: str
    eta: int | None
    note: str = ""
    symbol: str = ""

    @property
    def label(self) -> str:
        """The words, with the symbol once: ``clearance (CL)``."""
        return f"{self.words} ({self.symbol})" if self.symbol else self.words


#: Each kind's parameters, as the calibrations name them (log-normal: θ = typical·exp(η), so
#: a parameter monotone in one η has the interval θ·exp(±z·SD)).
PARAMETERS: dict[str, dict[str, Parameter]] = {
    "pk_vancomycin": {
        "CL": Parameter("clearance", "L/h", 0, symbol="CL"),
        "V1": Parameter("central volume", "L", 1, symbol="V1"),
        "Q": Parameter("inter-compartment clearance", "L/h", None, symbol="Q"),
        "V2": Parameter("peripheral volume", "L", 2, symbol="V2"),
    },
    "glucose_t1d": {
        "Vmx": Parameter("insulin action on glucose use", "mg/kg/min per pmol/L", 0, symbol="Vmx"),
        "kp3": Parameter(
            "insulin action on liver glucose output", "mg/kg/min per pmol/L", 1, symbol="kp3"
        ),
        "kabs": Parameter("gut absorption rate of a meal", "1/min", 2, symbol="kabs"),
    },
    "windkessel": {
        "R_p": Parameter("peripheral resistance", "mmHg·s/mL", 0, symbol="Rp"),
        "C": Parameter("arterial compliance", "mL/mmHg", 1, symbol="C"),
        "R_c": Parameter(
            "characteristic resistance", "mmHg·s/mL", None, "held (the card's)", symbol="Rc"
        ),
        "stroke_volume": Parameter(
            "stroke volume", "mL", None, "held: resistance and compliance are relative to it"
        ),
    },
    "radiotherapy": {
        "initial_volume": Parameter("tumour volume at the course's start", "cm³", 0),
        "growth_rate": Parameter("tumour growth rate", "1/day", 1),
        "alpha": Parameter("radiosensitivity, linear term", "1/Gy", 2, symbol="\u03b1"),
        "beta": Parameter(
            "radiosensitivity, quadratic term", "1/Gy²", 2, symbol="\u03b2 = \u03b1/10"
        ),
        "doubling_time": Parameter("volume doubling time without treatment", "days", 1),
    },
}
OUTPUT_KINDS = ("state", "forecast", "recommendation", "move")


@dataclass(frozen=True)
class Line:
    """One row: what, the value in words, and its interval or note."""

    what: str
    value: str
    note: str = ""


def observation_words(record: Record, kinds: Mapping[str, ObservationKind]) -> str:
    """The stored value with its unit (the kind table's stored unit), or each component."""
    body = record.body
    parts = body.get("components")
    if isinstance(parts, Mapping) and parts:
        kind = kinds.get(record.kind)
        units = {c.name: c.quantity.unit for c in kind.components if c.quantity} if kind else {}
        return ", ".join(_part(k, v, units.get(k)) for k, v in parts.items())
    value = body.get("value")
    unit = body.get("unit")
    if isinstance(value, int | float):
        return f"{value:.4g} {_unit(unit)}".strip()
    return str(value)


def time_words(text: object) -> str:
    """An RFC 3339 time as read: ``2026-03-01 06:00 UTC`` (other zones kept as given)."""
    try:
        at = datetime.fromisoformat(str(text))
    except ValueError:
        return str(text)
    zone = "UTC" if at.utcoffset() is not None and not at.utcoffset() else at.strftime("%z")
    return f"{at:%Y-%m-%d %H:%M} {zone}".strip()


def _unit(unit: object) -> str:
    """UCUM as read: ``a`` is years, ``h`` hours; ``1`` (a count) says nothing."""
    words = {"a": "years", "1": ""}
    return words.get(str(unit), str(unit)) if unit else ""


def _part(name: str, value: object, unit: str | None) -> str:
    if isinstance(value, int | float):
        return f"{name} {value:.4g} {_unit(unit)}".strip()
    return f"{name} {time_words(value)}"


def state_lines(state: Record, kind: str) -> list[Line]:
    """The state's parameters in words with units and 90 % posterior intervals."""
    body = state.body
    posterior = body.get("posterior")
    named = PARAMETERS.get(kind)
    if not (isinstance(posterior, Mapping) and "parameters" in posterior and named):
        return scalar_lines({k: v for k, v in body.items() if k not in ("observation_ids",)})
    sd = list(posterior.get("sd", ()))
    out = []
    for name, value in posterior["parameters"]:
        p = named.get(name, Parameter(name.replace("_", " "), "", None))
        unit = f" {p.unit}" if p.unit else ""
        note = p.note
        if p.eta is not None and p.eta < len(sd):
            low, high = value * math.exp(-Z90 * sd[p.eta]), value * math.exp(Z90 * sd[p.eta])
            note = f"90% posterior interval {low:.3g}\u2013{high:.3g}{unit}"
        out.append(Line(p.label, f"{value:.3g}{unit}", note))
    return out


def scalar_lines(body: Mapping[str, Any], prefix: str = "") -> list[Line]:
    """Numbers of a body, each with its ``_low``/``_high`` interval when it has one."""
    out = []
    for key, value in body.items():
        if isinstance(value, Mapping):
            out += scalar_lines(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if key.endswith(("_low", "_high")):
                continue
            low, high = body.get(f"{key}_low"), body.get(f"{key}_high")
            note = f"90%: {low:.4g}\u2013{high:.4g}" if isinstance(low, int | float) else ""
            out.append(Line(prefix + key, f"{value:.4g}", note))
        elif isinstance(value, str) and len(value) <= 200:
            out.append(Line(prefix + key, value))
    return out


def regimens(recommendation: Record, top: int = 5) -> list[dict[str, Any]]:
    ranked = recommendation.body.get("recommendation", {}).get("regimens", [])
    return list(ranked[:top]) if isinstance(ranked, list) else []


def thread_lines(records: Sequence[Record], kinds: Mapping[str, ObservationKind]) -> list[Line]:
    """Every record in order: when, what, its audit record."""
    out = []
    for r in records:
        if r.kind == "state":
            what = f"calibration state {r.number}: {r.status}"
        elif r.kind in OUTPUT_KINDS:
            what = f"{r.kind} from state {r.body.get('state', '?')}"
        else:
            what = f"{r.kind.replace('_', ' ')}: {observation_words(r, kinds)}"
        out.append(Line(r.at.strftime("%Y-%m-%d %H:%M:%S"), what, r.audit_id))
    return out
