"""CLI: init creates the home; register takes a run already logged; the MLflow alias is
repaired from the governance database at start-up."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import mlflow
from click.testing import CliRunner

from api.cli.main import main
from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.http.app import create_app
from models.demo_twins import DemoTwin
from registry.layout import write_twin_layout
from tests.api.helpers import twin_named


def test_init_creates_the_home(tmp_path: Path) -> None:
    home = tmp_path / "h"
    result = CliRunner().invoke(main, ["init", "--home", str(home)], env={})
    assert result.exit_code == 0, result.output
    assert (home / "governance.db").exists() and (home / "secrets.json").exists()
    assert (home / "secrets.json").stat().st_mode & 0o077 == 0
    # the MLflow store (SQLite backend, migrated, the twins' experiment) and local artifacts
    assert (home / "mlartifacts").is_dir()
    tracking = mlflow.MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    experiments = [e.name for e in tracking.search_experiments()]
    assert "twinreg" in experiments, experiments
    info = CliRunner().invoke(main, ["info", "--json", "--home", str(home)], env={})
    assert json.loads(info.output)["models"] == []


def test_register_a_logged_run(tmp_path: Path, demo_twins: list[DemoTwin]) -> None:
    home = tmp_path / "h"
    settings = Settings.load(home, environ={})
    TwinregService(settings)  # creates the home and its stores
    twin = twin_named(demo_twins, "diabetes-progression")
    layout = tmp_path / "twin"
    layout.mkdir()
    write_twin_layout(layout, twin.card.kind, twin.model, twin.card, twin.evaluation)
    client = mlflow.MlflowClient(tracking_uri=settings.tracking_uri)
    experiment = client.create_experiment("own", artifact_location=str(tmp_path / "arts"))
    run = client.create_run(experiment)
    client.log_artifacts(run.info.run_id, str(layout), artifact_path="twin")
    client.set_terminated(run.info.run_id)
    args = ["register", "--name", "my-twin", "--run-id", run.info.run_id, "--user", "dana"]
    result = CliRunner().invoke(main, [*args, "--home", str(home)], env={})
    assert result.exit_code == 0, result.output
    assert "registered my-twin version 1" in result.output
    service = TwinregService(settings)
    state = service.lifecycle.version("my-twin", "1")
    assert state.status == "registered" and state.registrant == "dana"
    bad = CliRunner().invoke(
        main,
        ["register", "--name", "../x", "--run-id", "nope", "--user", "dana", "--home", str(home)],
        env={},
    )
    assert bad.exit_code != 0 and "twinreg:" in bad.output


def test_alias_repaired_at_start_up(service: TwinregService) -> None:
    service.registry.set_approved_alias("whas500-mortality", None)
    assert service.registry.approved_alias("whas500-mortality") is None
    create_app(service=service)
    assert service.registry.approved_alias("whas500-mortality") == "1"


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--home", str(tmp_path / "h")], env={})
    assert result.exit_code == 0, result.output
    out: Any = result.output
    assert "released" in out and out.count("withheld") >= 2
    assert "prohibited" in out and "consent" in out and "verified" in out
    # the vancomycin patient twin (issue 14): estimate, ranked regimens, explanation, thread
    assert "clearance" in out and "L/h, 90% posterior interval" in out and "shrinkage" in out
    assert "by probability of AUC24 400-600 mg·h/L" in out and "attainment" in out
    assert "forecast of the top regimen: AUC24" in out and "eta_CL:" in out
    assert "the thread: 13 items" in out and "calibration state 1: converged" in out
    # outcomes in words with units (issue 16), never a bare number
    flat = " ".join(out.split())
    assert "probability of death from any cause during follow-up" in flat
    assert re.search(  # with its 90 % range (the version's bootstrap refits)
        r"\d % \(90 % range [\d.]+\u2013[\d.]+ %\) \((below|at or above) the operating threshold",
        flat,
    ), flat
    assert "AUC over 24 h (auc24):" in flat and "contribution (mg·h/L)" in flat
    assert "contribution (mg/week)" in flat and "probability =" not in flat
    # the in-silico trial (issue 17): both arms' attainment with intervals, and released
    assert flat.count("auc24 in [400, 600]:") >= 3  # two arms and their difference
    assert "100,000 patients" in flat and "(95% interval" in flat
    assert "released with audit record" in flat
