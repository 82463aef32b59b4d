"""The policy watcher on the scale path: Casbin lines in the governance database, a change
announced to every worker (PostgreSQL LISTEN/NOTIFY on the PostgreSQL backend, Redis
pub/sub on the SQLite one), and the generation check that catches a lost notification.

The workers here check the generation only once an hour
(``TWINREG_POLICY_RECHECK_SECONDS=3600``) while their watcher listens, so a change they
enforce within seconds reached them through the notification; the fallback tests turn the
notification off and show the check, or the reconnection, catching up.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from click.testing import CliRunner
from litestar.testing import TestClient

from api.cli.main import main
from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.composition.tokens import issue_token
from api.http.app import create_app
from governance.errors import PolicyError
from governance.policy.rules import DatabaseRules, read_policy_csv
from governance.policy.store import PolicyStore
from governance.policy.watch import PostgresWatcher, RedisWatcher, watcher_for
from tests.api.helpers import features_of, prepare_patient, run_sql, twin_named
from tests.conftest import Api
from tests.security.workers import redis_or_skip, worker, worker_env

M = "whas500-mortality"
CATS = ["demographics", "vitals", "history"]
PREDICT = ("p", "clinician", "own", "model/*", "predict")
PREDICT_LINE = "p, clinician, own, model/*, predict"
#: How long a notification may take to bind a worker (it takes milliseconds).
NOTICE_S = 5.0


@pytest.fixture()
def scaled(settings: Settings) -> Settings:
    """Policy lines in the database, loaded; a Redis watcher unless it is PostgreSQL."""
    postgresql = settings.governance_url.startswith("postgresql")
    scaled = dataclasses.replace(
        settings,
        policy_store="database",
        redis_url=None if postgresql else redis_or_skip(),
        policy_recheck_seconds=3600.0,
    )
    _policy_load(scaled)
    return scaled


def _policy_load(settings: Settings) -> str:
    """``twinreg policy load``, as an operator runs it."""
    result = CliRunner().invoke(
        main, ["policy", "load", "--home", str(settings.home)], env=worker_env(settings)
    )
    assert result.exit_code == 0, result.output
    return str(result.output.rsplit(" ", 1)[1].strip())


def _operator(scaled: Settings, tmp_path: Path) -> Settings:
    """The operator's own copy of ``policies/``, from which ``policy load`` reads the CSV.
    The workers' folder stays untouched: a file change would make them re-read
    everything by itself, and the test would no longer show the notification at work."""
    shutil.copytree(scaled.policies_dir, tmp_path / "operator-policies")
    return dataclasses.replace(scaled, policies_dir=tmp_path / "operator-policies")


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Seconds until ``condition`` held; fails after ``seconds``, saying ``what``."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, f"{what}: not within {seconds} s"
        time.sleep(0.01)
    return time.monotonic() - start


def _health(url: str) -> dict[str, str]:
    checks: dict[str, str] = httpx.get(url + "/health", timeout=5).json()["checks"]
    return checks


def test_a_policy_load_binds_every_worker_through_the_notification(
    scaled: Settings, service: TwinregService, demo_twins: list[Any], tmp_path: Path
) -> None:
    key = service.token_key
    clin = {"Authorization": "Bearer " + issue_token(key, "carla", "clinician", "st-mary", 600)}
    body = {
        "model": M,
        "patient_id": "p-1",
        "purpose": "treatment",
        "features": features_of(twin_named(demo_twins, M)),
    }
    service.engine.dispose()
    recheck = {"TWINREG_POLICY_RECHECK_SECONDS": "3600"}
    with worker(scaled, **recheck) as a, worker(scaled, **recheck) as b:
        for url in (a, b):  # listening: from now on only a notification can move them
            _wait(lambda u=url: _health(u)["policy_watch"].startswith("listening"), 30, "listening")
        put = httpx.put(f"{a}/v1/patients/p-1", json={"site": "st-mary"}, headers=clin)
        assert put.status_code == 200, put.text
        consent = {"purpose": "treatment", "data_categories": CATS}
        grant = httpx.post(f"{b}/v1/patients/p-1/consents", json=consent, headers=clin)
        assert grant.status_code == 201, grant.text
        for url in (a, b):
            assert httpx.post(f"{url}/v1/predictions", json=body, headers=clin).status_code == 200
        before = _health(a)["policies"]
        operator = _operator(scaled, tmp_path)
        csv_path = operator.policies_dir / "rbac_policy.csv"
        original = csv_path.read_text()

        csv_path.write_text("\n".join(x for x in original.splitlines() if x != PREDICT_LINE))
        revoked = _policy_load(operator)
        assert revoked != before
        for url in (a, b):
            _wait(lambda u=url: _health(u)["policies"] == revoked, NOTICE_S, f"{url} revoked")
            r = httpx.post(f"{url}/v1/predictions", json=body, headers=clin)
            assert r.status_code == 403 and r.json()["reasons"][0]["check"] == "role", r.text
            assert r.json()["audit_id"]

        csv_path.write_text(original)
        restored = _policy_load(operator)
        assert restored == before  # the version is the content hash of the same lines
        for url in (a, b):
            _wait(lambda u=url: _health(u)["policies"] == restored, NOTICE_S, f"{url} restored")
            assert httpx.post(f"{url}/v1/predictions", json=body, headers=clin).status_code == 200


@pytest.fixture()
def stores(scaled: Settings) -> Iterator[tuple[PolicyStore, PolicyStore]]:
    """A watching store (``watcher`` listening) and a writing store, on one database."""

    channel = f"twinreg:policy:test-{uuid.uuid4().hex}"  # Redis: away from other runs

    def store() -> PolicyStore:
        url = scaled.governance_url
        watcher = watcher_for(url, scaled.redis_url)
        if isinstance(watcher, RedisWatcher):
            watcher = RedisWatcher(watcher.url, channel=channel)
        return PolicyStore(
            scaled.policies_dir, rules=DatabaseRules(url), watcher=watcher, recheck_seconds=3600
        )

    watching, writing = store(), store()
    watching.start_watching()
    assert isinstance(watching.watcher, PostgresWatcher | RedisWatcher)
    assert watching.watcher.wait_connected(30)
    try:
        yield watching, writing
    finally:
        for s in (watching, writing):
            s.stop_watching()
            assert s.rules is not None
            s.rules.dispose()


def _without_predict(store: PolicyStore) -> None:
    assert store.rules is not None
    store.rules.replace([line for line in store.rules.lines() if line != PREDICT])
    store.rules_changed()


def _allows_predict(store: PolicyStore) -> bool:
    return (
        store.current().allows("clinician", "st-mary", "st-mary", f"model/{M}", "predict").allowed
    )


def test_a_change_reaches_a_watching_store_through_the_notification(
    stores: tuple[PolicyStore, PolicyStore],
) -> None:
    watching, writing = stores
    assert _allows_predict(watching)
    _without_predict(writing)
    took = _wait(lambda: not _allows_predict(watching), NOTICE_S, "notified store updated")
    assert took < NOTICE_S


def test_a_lost_notification_is_caught_by_the_generation_check(
    stores: tuple[PolicyStore, PolicyStore],
) -> None:
    watching, writing = stores
    assert watching.watcher is not None
    watching.recheck_seconds = 1.0
    assert _allows_predict(watching)  # generation read now; the next check is due in 1 s
    watching.watcher.set_update_callback(lambda: None)  # every notification now goes nowhere
    _without_predict(writing)
    assert _allows_predict(watching), "stale at first: the notification really was lost"
    took = _wait(lambda: not _allows_predict(watching), 1.0 + NOTICE_S, "generation check")
    assert took > 0.2


def _drop_listener(watcher: PostgresWatcher | RedisWatcher, settings: Settings) -> None:
    """Cut the listener's connection from the server side."""
    if isinstance(watcher, PostgresWatcher):
        rows = run_sql(
            settings.governance_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name",
            name=watcher.name,
        )
        assert rows, "the listener's connection was not found"
        return
    client = redis.Redis.from_url(watcher.url)
    try:
        mine = [c for c in client.client_list(_type="pubsub") if c["name"] == watcher.name]
        assert mine, "the listener's connection was not found"
        client.client_kill_filter(_id=mine[0]["id"])
    finally:
        client.close()


def test_a_dropped_listener_reconnects_and_catches_up(
    stores: tuple[PolicyStore, PolicyStore], scaled: Settings
) -> None:
    watching, writing = stores
    watcher = watching.watcher
    assert isinstance(watcher, PostgresWatcher | RedisWatcher)
    assert _allows_predict(watching)
    _drop_listener(watcher, scaled)
    _without_predict(writing)  # announced while nobody listens: that notice is lost
    _wait(lambda: not _allows_predict(watching), NOTICE_S, "caught up after the drop")
    assert watcher.wait_connected(NOTICE_S), "the listener did not reconnect"
    # listening again, and notifications arrive again (the recheck is an hour away)
    assert writing.rules is not None
    writing.rules.replace(read_policy_csv(scaled.policies_dir / "rbac_policy.csv"))
    writing.rules_changed()
    _wait(lambda: _allows_predict(watching), NOTICE_S, "notified after reconnecting")


def test_any_change_to_the_lines_raises_the_generation(stores: Any, scaled: Settings) -> None:
    watching, _ = stores
    assert watching.rules is not None
    before = watching.rules.generation()
    # a change that bypasses twinreg: Casbin's own adapter, or SQL by hand
    watching.rules.adapter.add_policy("p", "p", ["auditor", "*", "audit", "read"])
    run_sql(scaled.governance_url, "DELETE FROM casbin_rule WHERE v0 = 'auditor'")
    assert watching.rules.generation() >= before + 2
    _wait(lambda: "auditor" not in watching.current().roles, NOTICE_S, "hand-made change seen")


def test_unreadable_policy_lines_fail_closed(scaled: Settings, demo_twins: list[Any]) -> None:
    service = TwinregService(dataclasses.replace(scaled, policy_recheck_seconds=0.2))
    with TestClient(app=create_app(service=service)) as client:
        api = Api(client, service)
        prepare_patient(api, "p-1", CATS)
        body = {
            "model": M,
            "patient_id": "p-1",
            "purpose": "treatment",
            "features": features_of(twin_named(demo_twins, M)),
        }
        assert client.post("/v1/predictions", json=body, headers=api.clinician).status_code == 200
        run_sql(scaled.governance_url, "DROP TABLE twinreg_policy_generation")
        time.sleep(0.3)  # the next generation check is due
        with pytest.raises(PolicyError):
            service.policies.current()
        r = client.post("/v1/predictions", json=body, headers=api.clinician)
        assert r.status_code == 503, r.text
        assert "contributions" not in r.text
        assert client.get("/health").status_code == 503
    service.engine.dispose()
