"""A patient twin's thread as a clinician reads it: observations with their units, the
latest calibrated state (estimates with 90 % posterior intervals), the latest forecast
(its band, its value against the target) and recommendation (ranked regimens), and every
record in order with its audit id.

The vancomycin twin is shown in full; the other kinds' states and outputs are shown as
their numbers (a value with its ``_low``/``_high`` interval when it has one)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.http.pages.clinical_charts import band_chart
from governance.policy.observation_kinds import ObservationKind
from governance.twins.bank import Record
from models.mechanistic.outputs import output_spec

Z90 = 1.6448536269514722
#: Units of the vancomycin twin's individual parameters.
PK_UNITS = {"CL": "L/h", "V1": "L", "Q": "L/h", "V2": "L"}
PK_WORDS = {"CL": "clearance", "V1": "central volume", "Q": "inter-compartment clearance",
            "V2": "peripheral volume"}  # fmt: skip
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


def state_lines(state: Record) -> list[Line]:
    body = state.body
    posterior = body.get("posterior")
    if isinstance(posterior, Mapping) and "parameters" in posterior:
        sd = dict(zip(("CL", "V1", "V2"), posterior.get("sd", ()), strict=False))
        out = []
        for name, value in posterior["parameters"]:
            unit = PK_UNITS.get(name, "")
            note = ""
            if name in sd:
                low, high = value * math.exp(-Z90 * sd[name]), value * math.exp(Z90 * sd[name])
                note = f"90% posterior interval {low:.3g}\u2013{high:.3g} {unit}"
            out.append(Line(f"{PK_WORDS.get(name, name)} ({name})", f"{value:.3g} {unit}", note))
        return out
    return scalar_lines({k: v for k, v in body.items() if k not in ("observation_ids",)})


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


def forecast_view(forecast: Record, levels: Sequence[Record]) -> dict[str, Any]:
    """The vancomycin forecast's AUC24 against its target and its band chart; other kinds:
    their numbers."""
    body = forecast.body
    f = body.get("forecast", {})
    if not {"times", "concentration", "auc24"} <= set(f):
        return {"lines": scalar_lines(f), "chart": None, "verdict": ""}
    spec = output_spec("pk_vancomycin", "auc24")
    assert spec is not None and spec.range is not None
    where = spec.range.verdict(f["auc24"])
    origin = datetime.fromisoformat(body["time_origin"])
    measured = [
        ((r.at_time - origin).total_seconds() / 3600.0, float(r.body["value"]))
        for r in _timed(levels)
    ]
    chart = band_chart(
        f["times"], f["concentration"], f["concentration_low"], f["concentration_high"],
        measured, ("time from the first dose (h)", "vancomycin concentration (mg/L)"),
    )  # fmt: skip
    return {
        "lines": [
            Line(
                "AUC over 24 h from the regimen's start",
                f"{f['auc24']:.4g} mg·h/L",
                f"90%: {f['auc24_low']:.4g}\u2013{f['auc24_high']:.4g} mg·h/L",
            )
        ],
        "verdict": f"{where} the {spec.range.words(spec.unit)} target range",
        "tone": "ok" if where == "within" else "bad",
        "chart": chart,
        "method": f.get("method", ""),
    }


@dataclass(frozen=True)
class _Timed:
    at_time: datetime
    body: Mapping[str, Any]


def _timed(levels: Sequence[Record]) -> list[_Timed]:
    out = []
    for r in levels:
        try:
            out.append(_Timed(datetime.fromisoformat(str(r.body["time"])), r.body))
        except (KeyError, ValueError):
            continue
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
