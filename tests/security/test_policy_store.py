"""Policy semantics: edits take effect without a restart; a corrupt file fails closed; at
scale the Casbin lines live in the governance database and an edit made through one
worker binds every other on its next request."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import casbin
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, inspect

from api.cli.main import main
from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.http.app import create_app
from governance.policy.rules import DatabaseRules
from tests.api.helpers import features_of, prepare_patient, run_sql, twin_named

M = "whas500-mortality"
CATS = ["demographics", "vitals", "history"]


def _predict(client: Any, headers: dict[str, str], demo_twins: list[Any]) -> Any:
    return client.post(
        "/v1/predictions",
        headers=headers,
        json={
            "model": M,
            "patient_id": "p-1",
            "purpose": "treatment",
            "features": features_of(twin_named(demo_twins, M)),
        },
    )


def test_file_edit_takes_effect_without_restart(api: Any, demo_twins: list[Any]) -> None:
    prepare_patient(api, "p-1", CATS)
    assert _predict(api.client, api.clinician, demo_twins).status_code == 200
    path = api.service.settings.policies_dir / "rbac_policy.csv"
    lines = [
        line
        for line in path.read_text().splitlines()
        if line != "p, clinician, own, model/*, predict"
    ]
    path.write_text("\n".join(lines) + "\n")
    api.service.policies.invalidate()  # the half-second refresh, without waiting for it
    r = _predict(api.client, api.clinician, demo_twins)
    assert r.status_code == 403 and r.json()["reasons"][0]["check"] == "role"


def test_missing_policy_file_fails_closed(api: Any, demo_twins: list[Any]) -> None:
    prepare_patient(api, "p-1", CATS)
    (api.service.settings.policies_dir / "rbac_model.conf").unlink()
    api.service.policies.invalidate()
    r = _predict(api.client, api.clinician, demo_twins)
    assert r.status_code in (401, 403, 503), r.text
    assert "contributions" not in r.text
    assert api.client.get("/health").status_code == 503


def test_policy_lines_in_the_database_bind_every_worker(
    settings: Settings, demo_twins: list[Any]
) -> None:
    scaled = dataclasses.replace(settings, policy_store="database")
    env = {
        "TWINREG_POLICY_STORE": "database",
        "TWINREG_GOVERNANCE_URL": scaled.governance_url,
        "TWINREG_TRACKING_URI": scaled.tracking_uri,
        "TWINREG_ARTIFACT_ROOT": scaled.artifact_root,
        "TWINREG_POLICIES": str(scaled.policies_dir),
    }
    result = CliRunner().invoke(main, ["policy", "load", "--home", str(scaled.home)], env=env)
    assert result.exit_code == 0, result.output
    first, second = TwinregService(scaled), TwinregService(scaled)
    with (
        TestClient(app=create_app(service=first)) as a,
        TestClient(app=create_app(service=second)) as b,
    ):
        from tests.conftest import Api

        api_a, api_b = Api(a, first), Api(b, second)
        prepare_patient(api_a, "p-1", CATS)
        assert _predict(b, api_b.clinician, demo_twins).status_code == 200
        # the CSV is no longer the source: editing it changes nothing at run time
        assert first.policies.rules is not None
        lines = [
            line
            for line in first.policies.rules.lines()
            if line != ("p", "clinician", "own", "model/*", "predict")
        ]
        first.policies.rules.replace(list(lines))
        first.policies.rules_changed()
        # No invalidation by hand: the second worker learns of it from its watcher
        # (PostgreSQL), or without one (SQLite, no Redis) from the generation check that
        # runs every half second.
        deadline = time.monotonic() + second.policies.refresh_seconds + 2
        while second.policies.current().version != first.policies.current().version:
            assert time.monotonic() < deadline, "the second worker kept the old lines"
            time.sleep(0.05)
        r = _predict(b, api_b.clinician, demo_twins)
        assert r.status_code == 403 and r.json()["reasons"][0]["check"] == "role"


def test_policy_load_requires_the_database_store(settings: Settings) -> None:
    env = {
        "TWINREG_GOVERNANCE_URL": settings.governance_url,
        "TWINREG_TRACKING_URI": settings.tracking_uri,
        "TWINREG_ARTIFACT_ROOT": settings.artifact_root,
        "TWINREG_POLICIES": str(settings.policies_dir),
    }
    result = CliRunner().invoke(main, ["policy", "load", "--home", str(settings.home)], env=env)
    assert result.exit_code != 0 and "TWINREG_POLICY_STORE" in result.output


#: The ``casbin_rule`` table as casbin-sqlalchemy-adapter 1.4 declared it (its
#: ``CasbinRule`` model, created with ``metadata.create_all``): governance databases loaded
#: before the switch to sqlalchemy-adapter hold this table, with their lines in it.
_FORMER = MetaData()
FORMER_ADAPTER_TABLE = Table(
    "casbin_rule",
    _FORMER,
    Column("id", Integer, primary_key=True),
    *(Column(name, String(255)) for name in ("ptype", "v0", "v1", "v2", "v3", "v4", "v5")),
)


def _create_former_table(url: str) -> None:
    engine = create_engine(url)
    try:
        _FORMER.create_all(engine)
    finally:
        engine.dispose()


def _columns(url: str) -> list[tuple[str, str, bool, bool, Any]]:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        primary = set(inspector.get_pk_constraint("casbin_rule")["constrained_columns"])
        return [
            (c["name"], str(c["type"]), bool(c["nullable"]), c["name"] in primary, c["default"])
            for c in inspector.get_columns("casbin_rule")
        ]
    finally:
        engine.dispose()


def test_the_adapter_creates_the_table_the_former_adapter_created(settings: Settings) -> None:
    """A fresh database gets, column for column, the table a database loaded before the
    switch already has: no migration is needed either way."""
    DatabaseRules(settings.governance_url).dispose()
    created = _columns(settings.governance_url)
    run_sql(settings.governance_url, "DROP TABLE casbin_rule")  # and its triggers
    _create_former_table(settings.governance_url)
    assert created == _columns(settings.governance_url)
    assert [c[0] for c in created] == ["id", "ptype", "v0", "v1", "v2", "v3", "v4", "v5"]


def test_lines_stored_by_the_former_adapter_are_read_and_enforced(settings: Settings) -> None:
    url = settings.governance_url
    _create_former_table(url)
    run_sql(
        url,
        "INSERT INTO casbin_rule (ptype, v0, v1, v2, v3) "
        "VALUES ('p', 'clinician', 'own', 'model/*', 'predict')",
    )
    rules = DatabaseRules(url)  # installs the generation table and triggers beside it
    try:
        assert rules.lines() == (("p", "clinician", "own", "model/*", "predict"),)
        enforcer = casbin.Enforcer(str(settings.policies_dir / "rbac_model.conf"), rules.adapter)
        assert enforcer.enforce("clinician", "st-mary", "st-mary", "model/m", "predict")
        assert not enforcer.enforce("clinician", "st-mary", "other", "model/m", "predict")
        # Casbin's adapter writes to the same rows, and the trigger sees it
        before = rules.generation()
        rules.adapter.add_policy("p", "p", ["validator", "*", "model/*", "approve"])
        assert rules.generation() > before
        assert ("p", "validator", "*", "model/*", "approve") in rules.lines()
    finally:
        rules.dispose()
