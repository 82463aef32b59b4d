"""``twinreg trial``: an in-silico trial from the command line, through the same service
calls (and the same gate and audit records) as ``POST /v1/cohorts`` and
``POST /v1/cohorts/{id}/trials``: a cohort drawn from a prior (``--size``, ``--seed``) or
an existing cohort (``--cohort``), arms as regimens (``--arm "q12h=15 mg/kg q12h"``), a
progress bar while the chunks run, each arm's probability of target attainment with its
interval, and an HTML report (``--report FILE``)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.cli.common import HOME_HELP, _fail, _service
from api.errors import ApiError
from governance.errors import GovernanceError

#: ``15 mg/kg q12h``, ``1000 mg q8h over 2 h x 9`` (the engine's own describe() form).
_REGIMEN = re.compile(
    r"(?P<dose>\d+(?:\.\d+)?)\s*(?P<unit>mg/kg|mg)\s+q(?P<interval>\d+(?:\.\d+)?)h"
    r"(?:\s+over\s+(?P<infusion>\d+(?:\.\d+)?)\s*h)?(?:\s+x\s*(?P<doses>\d+))?"
)
HORIZON_H = 72.0


def parse_arm(text: str) -> dict[str, Any]:
    """``NAME=REGIMEN`` as a plan's arm; :class:`click.BadParameter` saying the form."""
    name, sep, spec = text.partition("=")
    match = _REGIMEN.fullmatch(spec.strip())
    if not sep or not name.strip() or match is None:
        raise click.BadParameter(
            f"{text!r}: write NAME=DOSE mg|mg/kg qINTERVALh [over HOURS h] [x DOSES], e.g. "
            "'q12h=15 mg/kg q12h over 1 h x 6'",
            param_hint="--arm",
        )
    interval = float(match["interval"])
    doses = int(match["doses"]) if match["doses"] else math.ceil(HORIZON_H / interval)
    dose_key = "dose_mg_per_kg" if match["unit"] == "mg/kg" else "dose_mg"
    regimen = {dose_key: float(match["dose"]), "interval_h": interval,
               "infusion_h": float(match["infusion"] or 1.0), "n_doses": doses}  # fmt: skip
    return {"name": name.strip(), "regimen": regimen}


def parse_target(text: str) -> dict[str, Any]:
    """``OUTPUT=LOW:HIGH`` (either bound may be empty)."""
    output, sep, bounds = text.partition("=")
    low, colon, high = bounds.partition(":")
    try:
        if not sep or not colon or not output.strip():
            raise ValueError
        return {"output": output.strip(), "low": float(low) if low else None,
                "high": float(high) if high else None}  # fmt: skip
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: write OUTPUT=LOW:HIGH, e.g. 'auc24=400:600'", param_hint="--target"
        ) from None


def attainment_lines(job: dict[str, Any]) -> list[str]:
    """Each arm's attainment with its interval, and each arm against the first."""
    result = job["result"]
    level = f"{result['level']:.0%}"
    lines = []
    for arm in result["arms"]:
        lines.append(f"{arm['name']} ({arm['regimen']}), {arm['n']:,} patients")
        for a in arm["attainment"]:
            if a.get("proportion") is None:
                lines.append(f"  {a['target']}: suppressed (minimum cell size)")
                continue
            lines.append(
                f"  {a['target']}: {a['proportion']:.1%} "
                f"({level} interval {a['low']:.1%} to {a['high']:.1%})"
            )
    for c in result.get("comparisons", []):
        for d in c["attainment"]:
            if d.get("difference") is None:
                continue
            lines.append(
                f"{c['arm']} - {c['reference']}, {d['target']}: {d['difference']:+.1%} "
                f"({level} interval {d['low']:+.1%} to {d['high']:+.1%})"
            )
    return lines


@click.command()
@click.option("--home", default=None, help=HOME_HELP)
@click.option("--user", required=True, help="The researcher running the trial.")
@click.option("--site", default=None, help="The researcher's site (for cohorts of its patients).")
@click.option("--cohort", "cohort_id", default=None, help="An existing cohort's id.")
@click.option("--size", type=int, default=None, help="Virtual patients drawn from the prior.")
@click.option("--seed", type=int, default=0, show_default=True, help="The prior's seed.")
@click.option("--name", default="cli-cohort", show_default=True, help="The new cohort's name.")
@click.option("--model", default="vancomycin-auc", show_default=True)
@click.option("--version", default=None, help="A version (default: the approved one).")
@click.option(
    "--arm",
    "arms",
    multiple=True,
    required=True,
    help="NAME=REGIMEN, e.g. 'q12h=15 mg/kg q12h over 1 h x 6' (repeat per arm).",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    default=("auc24=400:600",),
    show_default=True,
    help="OUTPUT=LOW:HIGH (repeat for more).",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write an HTML report with the arms' distributions as charts.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
def trial(home: str | None, user: str, site: str | None, cohort_id: str | None,
          size: int | None, seed: int, name: str, model: str, version: str | None,
          arms: tuple[str, ...], targets: tuple[str, ...], report: Path | None,
          as_json: bool) -> None:  # fmt: skip
    """Run an in-silico trial over a cohort; print each arm's target attainment."""
    from governance.identity.principal import Principal

    if (cohort_id is None) == (size is None):
        _fail("give --cohort ID, or --size N (with --seed) to draw virtual patients")
    plan = {"model": model, "version": version, "arms": [parse_arm(a) for a in arms],
            "targets": [parse_target(t) for t in targets]}  # fmt: skip
    service = _service(home)
    principal = Principal(user, "researcher", site)
    console = Console(stderr=True)
    try:
        if cohort_id is None:
            body = {"name": name, "model": model, "source": "prior",
                    "prior": {"size": size, "seed": seed}}  # fmt: skip
            cohort_id = service.cohorts.create(principal, json.dumps(body).encode()).id
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:  # fmt: skip
            task = progress.add_task("trial chunks", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            job = service.trials.request(
                principal, cohort_id, json.dumps(plan).encode(), wait=True, progress=advance
            )
    except (GovernanceError, ApiError) as exc:
        _fail(str(exc))
    if job["state"] != "done":
        _fail(f"job {job['id']} is {job['state']}: {job.get('error') or ''}".rstrip(": "))
    if as_json:
        click.echo(json.dumps(job, indent=2))
    else:
        click.echo(f"trial {job['id']} over cohort {cohort_id} ({job['patients']:,} patients, "
                   f"{job['withdrawn']} left), {model} v{job['version']}")  # fmt: skip
        for line in attainment_lines(job):
            click.echo(line)
    if report is not None:
        from api.cli.trial_report import render_report

        try:
            report.write_text(render_report(job), encoding="utf-8")
        except OSError as exc:
            _fail(f"the report cannot be written to {report}: {exc.strerror}")
        click.echo(f"report: {report}")
