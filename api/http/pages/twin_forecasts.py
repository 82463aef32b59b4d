"""A patient twin's latest forecast as a clinician reads it, one view per twin kind: the
forecast's band chart with the measured observations on the same time axis, and its
summary values in words with units, 90 % intervals and the range they are read against
(:mod:`models.mechanistic.outputs`). A kind not described here is shown as its numbers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from api.http.pages.clinical_charts import Band, band_chart
from api.http.pages.twin_view import Line, scalar_lines, time_words
from governance.twins.views import Record
from models.mechanistic.outputs import OutputSpec, output_spec

Points = list[tuple[float, float]]
View = dict[str, Any]


def _interval(f: Mapping[str, Any], key: str, unit: str, scale: float = 1.0) -> str:
    return f"90%: {scale * f[f'{key}_low']:.4g}\u2013{scale * f[f'{key}_high']:.4g} {unit}"


def _against(spec: OutputSpec, value: float) -> tuple[str, str]:
    """(``within the 90-120 mmHg reference range``, its tone)."""
    if spec.range is None:
        return "", ""
    where = spec.range.verdict(value)
    words = f"{where} the {spec.range.kind} range ({spec.range.words(spec.unit)})"
    return words, "ok" if where == "within" else "bad"


def _measured(
    records: Sequence[Record], kind: str, origin: datetime, value: Callable[[Record], Any]
) -> Points:
    """(hours from ``origin``, value) of each observation of ``kind`` with a time."""
    out = []
    for r in records:
        if r.kind != kind:
            continue
        try:
            at = datetime.fromisoformat(str(r.body["time"]))
            y = value(r)
        except (KeyError, TypeError, ValueError):
            continue
        if isinstance(y, int | float):
            out.append(((at - origin).total_seconds() / 3600.0, float(y)))
    return out


def _value(r: Record) -> Any:
    return r.body["value"]


def _part(name: str) -> Callable[[Record], Any]:
    return lambda r: r.body["components"][name]


def _near(points: Points, low_h: float, high_h: float) -> Points:
    return [p for p in points if low_h <= p[0] <= high_h]


def vancomycin(body: Mapping[str, Any], records: Sequence[Record]) -> View:
    """AUC24 against its target; concentrations with the measured levels from the first
    dose."""
    f = body["forecast"]
    spec = output_spec("pk_vancomycin", "auc24")
    assert spec is not None and spec.range is not None
    where = spec.range.verdict(f["auc24"])
    levels = _measured(
        records, "vancomycin_level", datetime.fromisoformat(body["time_origin"]), _value
    )
    band = Band(
        "concentration",
        f["times"],
        f["concentration"],
        f["concentration_low"],
        f["concentration_high"],
    )
    chart = band_chart(
        [band],
        [("measured levels", levels)],
        ("time from the first dose (h)", "vancomycin concentration (mg/L)"),
    )
    auc = Line(
        "AUC over 24 h from the regimen's start",
        f"{f['auc24']:.4g} mg·h/L",
        _interval(f, "auc24", "mg·h/L"),
    )
    return {
        "lines": [auc],
        "verdict": f"{where} the {spec.range.words(spec.unit)} target range",
        "tone": "ok" if where == "within" else "bad",
        "chart": chart,
        "alt": "Forecast concentrations with their 90% band and the measured levels",
    }


def glucose(body: Mapping[str, Any], records: Sequence[Record]) -> View:
    """Time in range against the consensus target and mean glucose; CGM and plasma glucose
    with the CGM readings and finger-sticks around the forecast's window."""
    f = body["forecast"]
    start = datetime.fromisoformat(f["start"])
    horizon = float(f["horizon_h"])
    tir = output_spec("glucose_t1d", "time_in_range")
    assert tir is not None
    verdict, tone = _against(tir, f["time_in_range"])
    t = f["times_h"]
    bands = [
        Band("CGM glucose", t, f["cgm"], f["cgm_low"], f["cgm_high"]),
        Band("plasma glucose", t, f["plasma"], f["plasma_low"], f["plasma_high"]),
    ]
    window = (-horizon, horizon)
    measured = [
        ("CGM readings", _near(_measured(records, "glucose_cgm", start, _value), *window)),
        ("finger-sticks", _near(_measured(records, "glucose_fingerstick", start, _value), *window)),
    ]
    chart = band_chart(
        bands,
        measured,
        ("hours from the forecast's start (h)", "glucose (mg/dL)"),
        (70.0, 180.0, "target range"),
    )
    lines = [
        Line(
            f"{tir.label} over the {horizon:g} h",
            f"{f['time_in_range']:.0f} %",
            _interval(f, "time_in_range", "%"),
        ),
        Line(
            "mean plasma glucose",
            f"{f['mean_glucose']:.0f} mg/dL",
            _interval(f, "mean_glucose", "mg/dL"),
        ),
    ]
    return {
        "lines": lines,
        "verdict": f"time in range {verdict}",
        "tone": tone,
        "chart": chart,
        "alt": "Forecast glucose with its 90% bands, the CGM readings and finger-sticks",
    }


def windkessel(body: Mapping[str, Any], records: Sequence[Record]) -> View:
    """Systolic, diastolic and mean pressure at the start and at the horizon against the
    resting reference ranges; their bands with the cuff readings around the window."""
    f = body["forecast"]
    start = datetime.fromisoformat(body["start"])
    t = f["times_h"]
    horizon = float(t[-1])
    names = {"systolic": "systolic", "map": "mean arterial", "diastolic": "diastolic"}
    bands = [
        Band(f"{w} pressure", t, f[k], f[f"{k}_low"], f[f"{k}_high"]) for k, w in names.items()
    ]
    window = (-max(horizon, 24.0), horizon)
    measured = [
        (f"cuff {p}", _near(_measured(records, "blood_pressure", start, _part(p)), *window))
        for p in ("systolic", "diastolic")
    ]
    chart = band_chart(bands, measured, ("hours from the forecast's start (h)", "pressure (mmHg)"))
    lines = []
    ends = [(0, "at the start")]
    if len(t) > 1:
        ends.append((len(t) - 1, f"after {horizon:g} h"))
    for i, when in ends:
        lines.append(Line(f"heart rate {when}", f"{f['heart_rate'][i]:.0f} bpm"))
        for key in names:
            spec = output_spec("windkessel", key)
            assert spec is not None
            words, _ = _against(spec, f[key][i])
            interval = f"90%: {f[f'{key}_low'][i]:.0f}\u2013{f[f'{key}_high'][i]:.0f} mmHg"
            lines.append(
                Line(f"{spec.label} {when}", f"{f[key][i]:.0f} mmHg", f"{interval} · {words}")
            )
    end = time_words((start + timedelta(hours=horizon)).isoformat())
    return {
        "lines": lines,
        "span": f"From {time_words(start.isoformat())} to {end}, at the heart rate in force.",
        "verdict": "",
        "tone": "",
        "chart": chart,
        "alt": "Forecast pressures with their 90% bands and the cuff readings",
    }


def radiotherapy(body: Mapping[str, Any], records: Sequence[Record]) -> View:
    """The volume at the horizon and the relative reduction; the volume's band from the
    forecast's start with every measured volume of the course."""
    f = body["forecast"]
    origin = datetime.fromisoformat(body["time_origin"])
    days = [(h / 24.0, v) for h, v in _measured(records, "tumour_volume", origin, _value)]
    band = Band("tumour volume", f["times"], f["volume"], f["volume_low"], f["volume_high"])
    chart = band_chart(
        [band],
        [("measured volumes", [d for d in days if d[0] >= 0.0])],
        ("days since the course's first observation", "tumour volume (cm³)"),
    )
    at = time_words((origin + timedelta(days=float(f["times"][-1]))).isoformat())
    lines = [
        Line(
            f"tumour volume at {at}",
            f"{f['volume_at_horizon']:.3g} cm³",
            _interval(f, "volume_at_horizon", "cm³"),
        ),
        Line(
            "relative reduction over the forecast (negative: growth)",
            f"{100 * f['relative_reduction']:.0f} %",
            _interval(f, "relative_reduction", "%", 100.0),
        ),
    ]
    return {
        "lines": lines,
        "verdict": "",
        "tone": "",
        "chart": chart,
        "alt": "Forecast tumour volume with its 90% band and the measured volumes",
    }


VIEWS: dict[str, Callable[[Mapping[str, Any], Sequence[Record]], View]] = {
    "pk_vancomycin": vancomycin,
    "glucose_t1d": glucose,
    "windkessel": windkessel,
    "radiotherapy": radiotherapy,
}


def forecast_view(kind: str, forecast: Record, records: Sequence[Record]) -> View:
    """The forecast of a twin of ``kind`` in words, with its chart; else its numbers."""
    view = VIEWS.get(kind)
    body = forecast.body
    if view is None or not isinstance(body.get("forecast"), Mapping):
        numbers = scalar_lines(body.get("forecast", {}))
        return {"lines": numbers, "verdict": "", "tone": "", "chart": None, "alt": ""}
    return {**view(body, records), "method": body["forecast"].get("method", "")}
