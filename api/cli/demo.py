"""``twinreg demo``: the whole product on the embedded default, end to end."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli.demo_glucose_twin import PATIENT as GLUCOSE_PATIENT
from api.cli.demo_glucose_twin import run_glucose_twin_demo
from api.cli.demo_outcome import (
    contribution,
    contribution_unit,
    feature_value,
    outcome_sentence,
    scale_sentence,
)
from api.cli.demo_trial import run_trial_demo
from api.cli.demo_twin import PATIENT, run_twin_demo
from api.composition.service import TwinregService
from governance.identity.principal import Principal
from models.card import TwinCard
from models.demo_twins import DemoTwin, train_demo_twins
from models.mechanistic_demo import train_mechanistic_twins
from models.warfarin.demo import warfarin_twin

SITE = "st-mary"
DATA_SCIENTIST = Principal("dana", "data_scientist")
VALIDATOR = Principal("victor", "validator")
CLINICIAN = Principal("carla", "clinician", SITE)


def run_demo(service: TwinregService, console: Console | None = None) -> int:
    console = console or Console()
    console.rule("[bold]twinreg demo")
    console.print(f"home: {service.settings.home}")
    twins = [*_train(console), warfarin_twin(), *train_mechanistic_twins()]
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("registering", total=len(twins))
        refused = {}
        for twin in twins:
            progress.update(task, description=f"register, audit, validate, approve {twin.name}")
            why = _govern(service, twin)
            if why:
                refused[twin.name] = why
            progress.advance(task)
    for name, why in refused.items():
        console.print(f"[yellow]{name}[/]: {why}")
    _show_models(service, console)
    register_demo_patients(service)
    whas = next(t for t in twins if t.name == "whas500-mortality")
    features = _features(whas)
    console.rule("1. released: patient-001, treatment, whas500-mortality")
    _decide(service, console, whas, "patient-001", "treatment", features)
    console.rule("2. withheld: patient-002 has no consent for treatment")
    _decide(service, console, whas, "patient-002", "treatment", features)
    console.rule("3. withheld: insurance-underwriting is a prohibited purpose")
    _decide(service, console, whas, "patient-001", "insurance-underwriting", features)
    vanco = next(t for t in twins if t.name == "vancomycin-auc")
    console.rule("4. released: vancomycin AUC24 for patient-001 (mechanistic twin)")
    _decide(service, console, vanco, "patient-001", "treatment", _features(vanco))
    console.rule(f"5. a vancomycin patient twin of {PATIENT}: calibrated, dosed, threaded")
    run_twin_demo(service, CLINICIAN, console)
    _warfarin(service, next(t for t in twins if t.name == "iwpc-warfarin"), console)
    console.rule(
        f"8. a glucose patient twin of {GLUCOSE_PATIENT}: 3 days of CGM, calibrated, forecast"
    )
    run_glucose_twin_demo(service, CLINICIAN, console)
    console.rule("9. an in-silico trial: 100,000 virtual patients, 15 mg/kg q12h vs q8h")
    run_trial_demo(service, console)
    console.rule("10. audit verification")
    result = service.audit_verify(None)
    style = "green" if result["ok"] else "red"
    console.print(f"[{style}]{result['message']} ({result['count']} records)")
    return 0 if result["ok"] else 1


#: The demo's warfarin patient: a consent that names genomic data.
WARFARIN_PATIENT = "patient-004"
WARFARIN_CATEGORIES = ["demographics", "vitals", "medication", "genomic"]


def _warfarin(service: TwinregService, twin: DemoTwin, console: Console) -> None:
    """The pharmacogenomic twin: withheld without a consent naming genomic data (patient-001
    consented to every other category), released and explained in mg/week with one."""
    features = _features(twin)
    console.rule("6. withheld: iwpc-warfarin, patient-001's consent names no genomic data")
    _decide(service, console, twin, "patient-001", "treatment", features)
    console.rule(f"7. released: iwpc-warfarin weekly dose for {WARFARIN_PATIENT} (mg/week)")
    service.patients.register(CLINICIAN, WARFARIN_PATIENT, SITE)
    if not any(
        c.status == "active" for c in service.patients.consents(CLINICIAN, WARFARIN_PATIENT)
    ):
        service.patients.grant(
            CLINICIAN, WARFARIN_PATIENT, "treatment", WARFARIN_CATEGORIES, None, None
        )
    _decide(service, console, twin, WARFARIN_PATIENT, "treatment", features)


def _train(console: Console) -> list[DemoTwin]:
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("training demo twins", total=None)
        twins = train_demo_twins(
            progress=lambda msg: progress.update(task, description=f"training: {msg}")
        )
        progress.update(task, description=f"trained {len(twins)} demo twins")
    return twins


def _govern(service: TwinregService, twin: DemoTwin) -> str | None:
    """Register, bias-audit, validate (dossier) and approve ``twin``; returns why it was
    not approved, if so.

    A failed audit or dossier is not overridden: the version stays registered and unserved."""
    versions = service.lifecycle.versions(twin.name)
    if any(v.status == "approved" for v in versions):
        return None
    if versions:
        return f"{twin.name} v{versions[-1].version} is {versions[-1].status}"
    background = pd.DataFrame(twin.background, columns=list(twin.card.feature_names))
    rv = service.register_version(
        DATA_SCIENTIST, twin.name, twin.card.kind, twin.model, twin.card, twin.evaluation,
        background, twin.uncertainty,
    )  # fmt: skip
    audit = service.run_bias_audit(VALIDATOR, twin.name, rv.version)
    if not audit["passed"]:
        return f"bias audit failed, not approved: {'; '.join(audit.get('reasons', []))}"
    dossier = service.run_dossier(VALIDATOR, twin.name, rv.version)
    if not dossier["passed"]:
        reasons = dossier["dossier"]["reasons"]
        return f"validation dossier failed, not approved: {'; '.join(reasons[:3])}"
    service.approve(
        VALIDATOR, twin.name, rv.version, "demo: validation dossier and bias audit reviewed"
    )
    return None


def register_demo_patients(service: TwinregService) -> None:
    """patient-001 and -002 at the demo site, patient-001 consenting to treatment (idempotent)."""
    service.patients.register(CLINICIAN, "patient-001", SITE)
    service.patients.register(CLINICIAN, "patient-002", SITE)
    if not any(c.status == "active" for c in service.patients.consents(CLINICIAN, "patient-001")):
        categories = ["demographics", "vitals", "history", "labs", "medication", "imaging"]
        service.patients.grant(CLINICIAN, "patient-001", "treatment", categories, None, None)


def _features(twin: DemoTwin) -> dict[str, float]:
    row = twin.evaluation.iloc[0]
    return {name: float(row[name]) for name in twin.card.feature_names}


def _show_models(service: TwinregService, console: Console) -> None:
    table = Table(title="registered twins")
    for col in ("model", "kind", "approved version"):
        table.add_column(col)
    for m in service.models():
        table.add_row(m["name"], m["kind"], str(m["approved_version"]))
    console.print(table)


def _decide(
    service: TwinregService,
    console: Console,
    twin: DemoTwin,
    patient: str,
    purpose: str,
    features: dict[str, float],
) -> None:
    """Ask for ``twin``'s prediction for ``patient`` and show the decision in words."""
    decision = service.predictions.predict(CLINICIAN, twin.name, patient, purpose, features)
    _show(console, decision, twin.card, features)


def _show(console: Console, decision: Any, card: TwinCard, values: dict[str, float]) -> None:
    """A decision in words: the outcome as the card states it, with its unit, the
    explanation's scale and each top contribution beside the patient's value."""
    if decision.released:
        comp = decision.computation
        pred, expl = comp.prediction, comp.explanation
        console.print(
            f"[green]released[/] {decision.model} v{decision.model_version}   "
            f"audit {decision.audit_id}"
        )
        console.print(f"  [bold]{outcome_sentence(card, pred)}[/]")
        console.print(f"  {scale_sentence(card, expl)}")
        unit = contribution_unit(card, str(expl["output_space"]))
        top = sorted(expl["contributions"].items(), key=lambda kv: -abs(kv[1]))[:5]
        table = Table(title="top contributions")
        table.add_column("feature")
        table.add_column("patient's value")
        table.add_column(f"contribution ({unit})" if unit else "contribution", justify="right")
        for name, value in top:
            shown = feature_value(card, name, float(values[name])) if name in values else "—"
            table.add_row(name, shown, contribution(value))
        console.print(table)
    else:
        console.print(f"[red]withheld[/]   audit {decision.audit_id}")
        for reason in decision.reasons:
            console.print(f"  {reason['check']}: {reason['detail']}")
