"""A home made by the code before schema migrations (commit 9cbf637), upgraded with
``twinreg upgrade``: until then the commands refuse it (naming the command), after it the
audit chain verifies with the same records and the services read and write what that
code stored — on SQLite (its governance database, committed) and on PostgreSQL (the
tables as its ``create_all`` made them there, holding the same rows)."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from litestar.testing import TestClient
from sqlalchemy import text

from api.cli.demo import CLINICIAN, SITE
from api.cli.main import main
from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.http.app import create_app
from governance.audit.chain import AuditLog
from governance.audit.verify import verify
from governance.errors import SchemaBehind
from governance.identity.principal import Principal
from governance.store import migrations
from governance.store.db import make_engine
from tests.governance.store.legacy_db import AUDIT_RECORDS, SECRETS, make_legacy

MODELS = {
    "diabetes-progression",
    "gbsg2-recurrence",
    "glucose-t1d-tir",
    "radiotherapy-response",
    "vancomycin-auc",
    "whas500-mortality",
    "whas500-mortality-logit",
    "windkessel-map",
}
BEFORE_MIGRATIONS = "none (made by twinreg before schema migrations)"


@pytest.fixture(params=["sqlite", "postgresql"])
def legacy_home(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A home whose governance database that code made and filled; no MLflow store (the
    governance database is what is upgraded; the twins' artifacts are not read here)."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(SECRETS, home / "secrets.json")
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_schemas")()
    else:
        url = f"sqlite:///{home / 'governance.db'}"
    make_legacy(url, rows=True)
    # that code left homes open to others (0755/0644); twinreg now refuses such a home and
    # says to run `chmod -R go=` first (README, Security), which the operator does here
    for path in [home, *home.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    return Settings.load(home, environ=_environ(url, tmp_path))


def _environ(url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "TWINREG_GOVERNANCE_URL": url,
        "TWINREG_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "TWINREG_ARTIFACT_ROOT": str(tmp_path / "mlartifacts"),
        "TWINREG_POLICIES": str(Path(__file__).resolve().parents[3] / "policies"),
        "TWINREG_POLICY_STORE": "files",
        "TWINREG_WARM_UP": "0",
    }


def cli(settings: Settings, *args: str) -> Result:
    env = _environ(settings.governance_url, settings.home.parent)
    return CliRunner().invoke(main, [*args, "--home", str(settings.home)], env=env)


def _audit_rows(settings: Settings) -> int:
    engine = make_engine(settings.governance_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM audit_record")).scalar_one())
    finally:
        engine.dispose()


def test_twinreg_upgrade_brings_a_home_from_before_migrations_to_the_head(
    legacy_home: Settings,
) -> None:
    head = migrations.head_revision()
    assert _audit_rows(legacy_home) == AUDIT_RECORDS

    # before the upgrade: refused in one line naming what to do; info says where it stands
    refused = cli(legacy_home, "audit", "verify")
    assert refused.exit_code == 2, refused.output
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("twinreg: ")
    assert BEFORE_MIGRATIONS in refused.stderr
    assert "back up the database, then run 'twinreg upgrade'" in refused.stderr
    info = json.loads(cli(legacy_home, "info", "--json").stdout)
    assert info["schema"]["state"] == "unversioned" and info["schema"]["head"] == head
    assert info["models"] == []
    text_info = cli(legacy_home, "info").stdout
    assert f"schema           {BEFORE_MIGRATIONS}" in text_info
    assert "then run: twinreg upgrade" in text_info

    upgraded = cli(legacy_home, "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout == f"governance schema upgraded from {BEFORE_MIGRATIONS} to {head}\n"
    again = cli(legacy_home, "upgrade")
    assert again.stdout == f"governance schema already at {head} (current)\n"

    info = json.loads(cli(legacy_home, "info", "--json").stdout)
    assert info["schema"]["revision"] == head and info["schema"]["state"] == "current"
    assert {m["name"]: m["approved_version"] for m in info["models"]} == dict.fromkeys(MODELS, "1")
    verified = cli(legacy_home, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout == (
        f"audit chain OK: {AUDIT_RECORDS} records verified; no checkpoint covers them\n"
    )

    _the_services_read_and_write_what_that_code_stored(legacy_home)


def _the_services_read_and_write_what_that_code_stored(settings: Settings) -> None:
    service = TwinregService(settings)
    try:
        assert not service.schema.changed and service.schema.after.current
        # versions, their lifecycle, bias audits and dossiers
        versions = service.lifecycle.versions()
        assert {(v.model, v.version, v.status) for v in versions} == {
            (m, "1", "approved") for m in MODELS
        }
        history = service.lifecycle.history("gbsg2-recurrence", "1")
        assert [(h["from"], h["to"]) for h in history] == [
            (None, "registered"),
            ("registered", "validated"),
            ("validated", "approved"),
            ("approved", "suspended"),
            ("suspended", "approved"),
        ]
        for model in MODELS:
            assert [a.passed for a in service.lifecycle.bias_audits(model, "1")] == [True]
            dossier = service.lifecycle.dossiers.latest(model, "1")
            assert dossier is not None and dossier.passed and dossier.verifies()
        # patients and consents, found through the pseudonym key of that home
        statuses = {
            patient: [(c.purpose, c.status) for c in service.patients.consents(CLINICIAN, patient)]
            for patient in ("patient-001", "patient-002", "patient-003")
        }
        assert statuses == {
            "patient-001": [("treatment", "active")],
            "patient-002": [],
            "patient-003": [("treatment", "withdrawn")],
        }
        # the revoked token, the override of a released decision
        assert service.is_revoked("any-jti", "mallory", datetime(2026, 1, 1).astimezone())
        released = [
            r
            for r in service.audit.records(action="prediction", limit=100)
            if r["decision"] == "released"
        ]
        assert len(service.overrides.for_decision(released[0]["record_id"])) == 1

        # writes continue the same chain
        service.patients.register(CLINICIAN, "patient-004", SITE)
        consent = service.patients.grant(
            CLINICIAN, "patient-004", "treatment", ["demographics", "vitals"], None, None
        )
        service.patients.withdraw(CLINICIAN, "patient-004", consent.id)
        service.revocations.revoke("cli", subject="mallory-2")
        # (the lifecycle alone: this home has no MLflow store to mirror the alias in)
        service.lifecycle.suspend(
            Principal("erin", "ethics_board"), "windkessel-map", "1", "review"
        )
        assert service.lifecycle.version("windkessel-map", "1").status == "suspended"
        result = verify(service.engine)
        assert result.ok, result.message
        assert result.count == AuditLog(service.engine).count() >= AUDIT_RECORDS + 5
    finally:
        service.engine.dispose()


def test_the_servers_start_up_upgrades_a_home_from_before_migrations(
    legacy_home: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(SchemaBehind):
        TwinregService(legacy_home)
    # (without its twins: this home has no MLflow store whose aliases the start-up mirrors)
    engine = make_engine(legacy_home.governance_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM model_version"))
    engine.dispose()
    with caplog.at_level(logging.WARNING, logger="twinreg.api"):
        app = create_app(legacy_home)
    assert f"governance schema upgraded from {BEFORE_MIGRATIONS}" in caplog.text
    with TestClient(app=app) as client:
        health = client.get("/health")
    assert health.status_code == 200, health.text
    assert health.json()["checks"]["audit_records"] == str(AUDIT_RECORDS)
    service: Any = app.state.twinreg
    assert service.schema.upgraded and migrations.status(service.engine).current
    service.engine.dispose()


def test_a_home_at_a_revision_this_twinreg_does_not_know_is_refused(
    legacy_home: Settings,
) -> None:
    assert cli(legacy_home, "upgrade").exit_code == 0
    engine = make_engine(legacy_home.governance_url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = 'f00dcafe'"))
    engine.dispose()
    token = ("token", "--user", "v", "--role", "validator")
    for args in (("upgrade",), ("audit", "verify"), token):
        refused = cli(legacy_home, *args)
        assert refused.exit_code == 2, (args, refused.output)
        assert refused.stdout == "" and refused.stderr.count("\n") == 1
        assert refused.stderr.startswith(
            "twinreg: the governance database is at schema revision f00dcafe, which this "
            "twinreg does not know"
        )
        assert "newer twinreg" in refused.stderr and "restore the backup" in refused.stderr
    info = cli(legacy_home, "info")
    assert info.exit_code == 0, info.output
    assert "f00dcafe (unknown to this twinreg" in info.stdout and "models:" not in info.stdout
