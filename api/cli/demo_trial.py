"""The demo's in-silico trial: 100,000 virtual vancomycin patients drawn from the demo's
population prior, two arms (15 mg/kg every 12 h and every 8 h, 1-h infusions, over 72 h),
run on a local Ray; each arm's probability of reaching an AUC24 of 400-600 mg·h/L with
its 95 % interval, and the difference. Governed like any trial: a researcher, purpose
research, the approved version and its bias audit, audited."""

from __future__ import annotations

import json

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.cli.trial import attainment_lines
from api.composition.service import TwinregService
from governance.identity.principal import Principal

RESEARCHER = Principal("rita", "researcher")
PATIENTS = 100_000
ARMS = [
    {"name": "15 mg/kg q12h",
     "regimen": {"dose_mg_per_kg": 15.0, "interval_h": 12.0, "infusion_h": 1.0, "n_doses": 6}},
    {"name": "15 mg/kg q8h",
     "regimen": {"dose_mg_per_kg": 15.0, "interval_h": 8.0, "infusion_h": 1.0, "n_doses": 9}},
]  # fmt: skip
TARGETS = [{"output": "auc24", "low": 400.0, "high": 600.0}]


def run_trial_demo(service: TwinregService, console: Console) -> None:
    """Draw the cohort, run both arms, print their attainment with intervals."""
    cohort_body = {"name": "demo-virtual-icu", "model": "vancomycin-auc", "source": "prior",
                   "prior": {"size": PATIENTS, "seed": 2026}}  # fmt: skip
    cohort = service.cohorts.create(RESEARCHER, json.dumps(cohort_body).encode())
    plan = {"model": "vancomycin-auc", "arms": ARMS, "outputs": ["auc24", "trough", "peak"],
            "targets": TARGETS}  # fmt: skip
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:  # fmt: skip
        task = progress.add_task(f"{PATIENTS:,} patients x {len(ARMS)} arms on Ray", total=None)
        job = service.trials.request(
            RESEARCHER, cohort.id, json.dumps(plan).encode(), wait=True,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )  # fmt: skip
    if job["state"] != "done":
        console.print(f"[red]the trial is {job['state']}: {job.get('error')}")
        return
    console.print(
        f"cohort {cohort.name} v{cohort.version} ({cohort.size:,} virtual patients, digest "
        f"{cohort.digest[:12]}...), vancomycin-auc v{job['version']}, job {job['id']}"
    )
    for line in attainment_lines(job):
        console.print(line, highlight=False)
    console.print(f"released with audit record {job['release_audit_id']}")
