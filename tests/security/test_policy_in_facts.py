"""With the Casbin lines in the database, a decision that starts after a change of the lines
has committed is made on the new lines, in every worker, whatever their watchers say.

The release gate reads the lines' generation in its one facts statement and reloads the
lines before deciding when it moved. Here the watchers' notifications go nowhere and the
periodic checks are an hour apart, so only that read can bind the next decision: after
the commit that removes (or restores) the clinician's ``predict`` line returns, the very
next prediction of either service instance is withheld (or released), with no sleep.
Removals come through every route a line can change by: twinreg's own replace, Casbin's
adapter, and SQL by hand. Runs on SQLite and on PostgreSQL (``TWINREG_TEST_BACKEND``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.http.app import create_app
from governance.policy.rules import DatabaseRules, read_policy_csv
from tests.api.helpers import features_of, prepare_patient, run_sql, twin_named
from tests.conftest import Api

M = "whas500-mortality"
CATS = ["demographics", "vitals", "history"]
PREDICT = ("p", "clinician", "own", "model/*", "predict")


@pytest.fixture()
def instances(settings: Settings) -> Iterator[tuple[Api, Api]]:
    """Two service instances (two workers) on one database with the lines in it, each
    deaf to notifications and checking the generation by itself only once an hour."""
    scaled = dataclasses.replace(
        settings, policy_store="database", redis_url=None, policy_recheck_seconds=3600.0
    )
    loader = DatabaseRules(scaled.governance_url)
    loader.replace(read_policy_csv(scaled.policies_dir / "rbac_policy.csv"))
    loader.dispose()
    first, second = TwinregService(scaled), TwinregService(scaled)
    with (
        TestClient(app=create_app(service=first)) as a,
        TestClient(app=create_app(service=second)) as b,
    ):
        for service in (first, second):
            service.policies.refresh_seconds = 3600.0
            if service.policies.watcher is not None:
                service.policies.watcher.set_update_callback(lambda: None)
        yield Api(a, first), Api(b, second)
    for service in (first, second):
        assert service.policies.rules is not None
        service.policies.rules.dispose()
        service.engine.dispose()


def _remove_by_replace(rules: DatabaseRules, url: str) -> None:
    rules.replace([line for line in rules.lines() if line != PREDICT])


def _remove_by_adapter(rules: DatabaseRules, url: str) -> None:
    assert rules.adapter.remove_policy("p", "p", list(PREDICT[1:]))


def _remove_by_sql(rules: DatabaseRules, url: str) -> None:
    run_sql(url, "DELETE FROM casbin_rule WHERE v0 = 'clinician' AND v3 = 'predict'")


REMOVALS: dict[str, Callable[[DatabaseRules, str], None]] = {
    "replace": _remove_by_replace,
    "adapter": _remove_by_adapter,
    "sql": _remove_by_sql,
}


@pytest.mark.parametrize("route", sorted(REMOVALS))
def test_the_next_decision_after_a_committed_change_uses_the_new_lines(
    instances: tuple[Api, Api], demo_twins: list[Any], route: str
) -> None:
    a, b = instances
    prepare_patient(a, "p-1", CATS)
    body = {
        "model": M,
        "patient_id": "p-1",
        "purpose": "treatment",
        "features": features_of(twin_named(demo_twins, M)),
    }

    def predict(api: Api) -> Any:
        return api.client.post("/v1/predictions", json=body, headers=api.clinician)

    rules = a.service.policies.rules
    assert rules is not None
    url = a.service.settings.governance_url
    for _ in range(3):
        for api in (b, a):  # both serve, on the lines they have loaded
            assert predict(api).status_code == 200
        REMOVALS[route](rules, url)  # committed when it returns; nobody is told
        for api in (b, a):
            r = predict(api)
            assert r.status_code == 403, r.text
            assert r.json()["reasons"][0]["check"] == "role", r.text
        rules.replace(read_policy_csv(a.service.settings.policies_dir / "rbac_policy.csv"))
        for api in (a, b):
            r = predict(api)
            assert r.status_code == 200, r.text
