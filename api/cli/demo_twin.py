"""The demo's vancomycin patient twin (issue 14), through the service methods the API uses:
a consented patient, a twin, doses (15 mg/kg q12h, 1-h infusions), covariates and two
levels, a calibration, the ranked recommendation, a forecast of the top regimen with its
explanation, and the digital thread, all printed in words with units."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

from api.composition.service import TwinregService
from governance.identity.principal import Principal
from governance.twins.views import Record

PATIENT = "patient-003"
MODEL = "vancomycin-auc"
PURPOSE = "treatment"
CATEGORIES = ["demographics", "history", "labs", "medication"]
WEIGHT_KG = 80.0
DOSE_MG = 15.0 * WEIGHT_KG  # 15 mg/kg
Z90 = 1.6448536269514722
TOP = 3


def _obs(ident: str, kind: str, time: str, **fields: Any) -> dict[str, Any]:
    return {"id": ident, "source": "demo-ward", "kind": kind, "time": time, **fields}


def _dose(i: int) -> dict[str, Any]:
    start = f"2026-03-0{1 + i // 2}T{8 + 12 * (i % 2):02d}:00:00Z"
    parts = {"amount": {"value": DOSE_MG, "unit": "mg"}, "start": start,
             "duration": {"value": 1, "unit": "h"}}  # fmt: skip
    return _obs(f"dose-{i + 1}", "vancomycin_dose", start, components=parts)


def demo_observations() -> list[dict[str, Any]]:
    """Four doses, age, sex, weight, creatinine, a peak 1 h after the 4th infusion ends
    and a trough 0.5 h before the 5th."""
    return [
        _obs("age", "age", "2026-03-01T06:00:00Z", value=58, unit="a"),
        _obs("sex", "sex", "2026-03-01T06:00:00Z", value="male"),
        _obs("weight", "weight", "2026-03-01T06:00:00Z", value=WEIGHT_KG, unit="kg"),
        _obs("creatinine", "serum_creatinine", "2026-03-01T06:30:00Z", value=1.1,
             unit="mg/dL", code="2160-0"),
        *(_dose(i) for i in range(4)),
        _obs("peak", "vancomycin_level", "2026-03-02T22:00:00Z", value=31.0, unit="mg/L",
             code="4090-7"),
        _obs("trough", "vancomycin_level", "2026-03-03T07:30:00Z", value=14.5, unit="mg/L",
             code="4092-3"),
    ]  # fmt: skip


def run_twin_demo(service: TwinregService, clinician: Principal, console: Console) -> None:
    assert clinician.site is not None
    service.patients.register(clinician, PATIENT, clinician.site)
    service.patients.grant(clinician, PATIENT, PURPOSE, CATEGORIES, None, None)
    twins = service.twins
    twin = twins.create(clinician, PATIENT, MODEL, None, PURPOSE)
    console.print(f"twin {twin.id} of {PATIENT}: {twin.model} v{twin.model_version}, state 0")
    stored, _, _ = twins.ingest(clinician, PATIENT, demo_observations(), None, None)
    console.print(f"observations stored: {len(stored)} (4 doses of {DOSE_MG:g} mg q12h, 2 levels)")
    state = twins.calibrate(clinician, PATIENT, twin.id)
    console.print(estimate_words(state))
    asked = {"loading": False}
    ranked = twins.output(clinician, PATIENT, twin.id, "recommendation", asked)
    regimens = ranked.body["recommendation"]["regimens"]
    _show_regimens(console, regimens)
    plan = ranked.body["schedule"]
    console.print(f"first dose of the top regimen: {plan['first_dose']} ({plan['time_zone']})")
    best = regimens[0]
    request = {"dose_mg": best["dose_mg"], "interval_h": best["interval_h"], "n_doses": 6,
               "start": "2026-03-03T08:00:00Z", "horizon_h": 72.0}  # fmt: skip
    predicted = twins.output(clinician, PATIENT, twin.id, "forecast", request)
    _, records, _ = twins.thread(clinician, PATIENT, twin.id, None)
    names = {r.id: str(r.body.get("id")) for r in records if r.kind == "vancomycin_level"}
    for line in forecast_words(predicted.body, names):
        console.print(line)
    console.print(f"the thread: {len(records)} items, in order")
    for record in records:
        console.print(f"  {record.at:%Y-%m-%d %H:%M:%S} {thread_words(record)}")


def estimate_words(state: Record) -> str:
    posterior = state.body["posterior"]
    cl = dict(posterior["parameters"])["CL"]
    sd, shrinkage = posterior["sd"][0], posterior["shrinkage"][0]
    low, high = cl * math.exp(-Z90 * sd), cl * math.exp(Z90 * sd)
    return (
        f"calibrated (state {state.number}, {state.body['message']}): clearance "
        f"{cl:.2f} L/h, 90% posterior interval {low:.2f}-{high:.2f} L/h, "
        f"shrinkage of eta_CL {shrinkage:.0%}"
    )


def _show_regimens(console: Console, regimens: list[dict[str, Any]]) -> None:
    table = Table(title=f"top {TOP} regimens by probability of AUC24 400-600 mg·h/L")
    for col in ("regimen", "AUC24 (mg·h/L, 90%)", "trough (mg/L, 90%)", "attainment"):
        table.add_column(col)
    for r in regimens[:TOP]:
        table.add_row(
            f"{r['dose_mg']:g} mg q{r['interval_h']:g}h over {r['infusion_h']:g} h",
            f"{r['auc24']:.0f} ({r['auc24_low']:.0f}-{r['auc24_high']:.0f})",
            f"{r['trough']:.1f} ({r['trough_low']:.1f}-{r['trough_high']:.1f})",
            f"{r['probability']:.0%}",
        )
    console.print(table)


def forecast_words(body: dict[str, Any], level_names: dict[str, str]) -> list[str]:
    """The forecast's AUC24, its top Shapley contributions and the levels that moved the
    clearance most (named by their entry ids, ``level_names``)."""
    f, e = body["forecast"], body["explanation"]
    lines = [
        f"forecast of the top regimen: AUC24 {f['auc24']:.0f} mg·h/L "
        f"(90% {f['auc24_low']:.0f}-{f['auc24_high']:.0f}); explained against the reference "
        f"patient (base {e['base']:.0f} mg·h/L -> {e['value']:.0f} mg·h/L):"
    ]
    top = sorted(e["contributions"], key=lambda c: -abs(c[1]))[:TOP]
    lines += [f"  {name}: {value:+.0f} mg·h/L" for name, value in top]
    for item in body["influence"][:2]:
        change = item["cl_change"]
        moved = "n/a" if change is None else f"{change:+.2f} L/h"
        name = level_names.get(item["level_id"], item["level_id"])
        lines.append(f"  level {name!r} moved the clearance estimate by {moved} (leave-one-out)")
    return lines


def thread_words(record: Record) -> str:
    body = record.body
    if record.kind == "state":
        if body["posterior"] is None:
            return f"calibration state {record.number}: {body['status']} ({body['message']})"
        cl = dict(body["posterior"]["parameters"])["CL"]
        return f"calibration state {record.number}: {body['status']}, clearance {cl:.2f} L/h"
    if record.kind == "recommendation":
        r = body["recommendation"]["regimens"][0]
        return (
            f"recommendation from state {body['state']}: {r['dose_mg']:g} mg q{r['interval_h']:g}h"
            f", AUC24 {r['auc24']:.0f} mg·h/L, attainment {r['probability']:.0%}"
        )
    if record.kind == "forecast":
        return f"forecast from state {body['state']}: AUC24 {body['forecast']['auc24']:.0f} mg·h/L"
    parts = body.get("components") or {}
    if record.kind == "vancomycin_dose":
        return (
            f"vancomycin dose {parts['amount']:g} mg over {parts['duration']:g} h "
            f"from {parts['start']}"
        )
    value = body["value"]
    amount = f"{value:g} {body['unit']}" if body.get("unit") else str(value)
    return f"{record.kind.replace('_', ' ')} {amount} at {body['time']}"
