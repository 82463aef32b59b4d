"""Expensive work is budgeted per principal and queued with a bound; cheap requests stay
out of the queue (issue 13, finding 5)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from api.cli.demo import SITE
from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.composition.tokens import issue_token
from api.http.app import create_app
from api.http.work import REFUSED, WorkQueue
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, twin_named

VANCO = "vancomycin-auc"
STATISTICAL = "whas500-mortality"
CATEGORIES = ["demographics", "labs", "medication", "vitals", "history"]


@dataclasses.dataclass
class Clinic:
    client: TestClient[Any]
    service: TwinregService
    simulation: dict[str, Any]
    prediction: dict[str, Any]

    def headers(self, user: str) -> dict[str, str]:
        token = issue_token(self.service.token_key, user, "clinician", SITE, 600)
        return {"Authorization": f"Bearer {token}"}

    def simulate(self, user: str) -> Any:
        return self.client.post("/v1/simulations", json=self.simulation, headers=self.headers(user))

    def predict(self, user: str) -> Any:
        return self.client.post("/v1/predictions", json=self.prediction, headers=self.headers(user))

    def refusals(self) -> list[dict[str, Any]]:
        return self.service.audit.records(action=REFUSED, limit=1000)


def _clinic(
    settings: Settings, demo: list[DemoTwin], mechanistic: list[DemoTwin], **changes: Any
) -> Iterator[Clinic]:
    service = TwinregService(dataclasses.replace(settings, **changes))
    with TestClient(app=create_app(service=service)) as client:
        clinic = Clinic(
            client,
            service,
            {
                "model": VANCO,
                "patient_id": "p-1",
                "purpose": "treatment",
                "features": features_of(twin_named(mechanistic, VANCO)),
                "scenarios": [
                    {"name": "q12h", "features": {"dose_mg": 1000, "interval_h": 12}},
                    {"name": "q24h", "features": {"dose_mg": 1500, "interval_h": 24}},
                ],
            },
            {
                "model": STATISTICAL,
                "patient_id": "p-1",
                "purpose": "treatment",
                "features": features_of(twin_named(demo, STATISTICAL)),
            },
        )
        headers = clinic.headers("carla")
        put = client.put("/v1/patients/p-1", json={"site": SITE}, headers=headers)
        assert put.status_code == 200, put.text
        body = {"purpose": "treatment", "data_categories": CATEGORIES}
        consent = client.post("/v1/patients/p-1/consents", json=body, headers=headers)
        assert consent.status_code == 201, consent.text
        # the statistical twin loaded: its predictions are cheap from now on
        assert clinic.predict("carla").status_code == 200
        yield clinic
    service.engine.dispose()


@pytest.fixture()
def spent(
    settings: Settings, demo_twins: list[DemoTwin], mechanistic_twins: list[DemoTwin]
) -> Iterator[Clinic]:
    """A budget any expensive request uses up."""
    yield from _clinic(settings, demo_twins, mechanistic_twins, work_budget_seconds=1e-9)


@pytest.fixture()
def narrow(
    settings: Settings, demo_twins: list[DemoTwin], mechanistic_twins: list[DemoTwin]
) -> Iterator[Clinic]:
    """One expensive request at a time, one waiting."""
    yield from _clinic(
        settings, demo_twins, mechanistic_twins, expensive_concurrency=1, expensive_queue=1
    )


def _assert_refused(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert words in body["detail"] and "retry after" in body["detail"]
    assert body["audit_id"]


@pytest.mark.parametrize(
    "route",
    [
        "simulation",
        "mechanistic prediction",
        "prediction with a plot",
        "ethics report",
    ],
)
def test_a_principal_over_its_work_budget_gets_429_while_another_is_served(
    spent: Clinic, mechanistic_twins: list[DemoTwin], route: str
) -> None:
    mechanistic = {**spent.prediction, "model": VANCO}
    mechanistic["features"] = features_of(twin_named(mechanistic_twins, VANCO))
    plotted = {**spent.prediction, "plot": "svg"}

    def expensive(user: str, role: str = "clinician") -> Any:
        headers = spent.headers(user)
        if route == "simulation":
            return spent.simulate(user)
        if route == "ethics report":
            token = issue_token(spent.service.token_key, user, "ethics_board", None, 600)
            auth = {"Authorization": f"Bearer {token}"}
            return spent.client.get("/v1/reports/ethics?format=html", headers=auth)
        body = mechanistic if route == "mechanistic prediction" else plotted
        return spent.client.post("/v1/predictions", json=body, headers=headers)

    assert expensive("alice").status_code == 200  # the budget is spent by this one
    refused = expensive("alice")
    _assert_refused(refused, 429, "expensive work")
    record = spent.refusals()[-1]
    assert record["record_id"] == refused.json()["audit_id"]
    assert record["principal"]["user"] == "alice" and record["status"] == 429
    # another principal is served, and so is alice's cheap request
    assert expensive("bob").status_code == 200
    assert spent.predict("alice").status_code == 200
    assert spent.client.get("/health").status_code == 200
    assert spent.service.audit_verify(None)["ok"] is True


def test_the_queue_bound_holds_and_cheap_requests_pass_it(narrow: Clinic) -> None:
    queue: WorkQueue = narrow.client.app.state.work_queue
    portal = narrow.client.blocking_portal
    running, waiting = queue.place("holder"), queue.place("holder")
    portal.call(running.__aenter__)
    waiter = portal.start_task_soon(waiting.__aenter__)
    try:
        while portal.call(lambda: _admitted(queue)) < 2:  # the waiter has taken its place
            pass
        # the N+1th concurrent expensive request is refused at once, audited
        refused = narrow.simulate("alice")
        _assert_refused(refused, 503, "busy with expensive work")
        assert narrow.refusals()[-1]["status"] == 503
        # cheap requests never enter the queue
        assert narrow.predict("alice").status_code == 200
        assert narrow.client.get("/health").status_code == 200
    finally:
        portal.call(running.__aexit__, None, None, None)
        waiter.result()
        portal.call(waiting.__aexit__, None, None, None)
    assert narrow.simulate("alice").status_code == 200


async def _admitted(queue: WorkQueue) -> int:
    return queue.admitted
