"""The release gate runs its checks in the one order of ``CHECKS``, stops at the first
that withholds, and decides on facts read once per request."""

from __future__ import annotations

import re
from typing import Any

import pytest

from governance.identity.principal import Principal
from governance.release import gate
from governance.release.decision import FactsReader, PredictionRequest
from governance.release.gate import CHECK_ORDER, CHECKS, Deliberation, Verdict, withheld
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, prepare_patient, twin_named

WHAS = "whas500-mortality"
CARE = Principal(user="carla", role="clinician", site="st-mary")


def test_the_order_is_documented_once_where_it_is_defined() -> None:
    documented = re.findall(r"^\d+\. ``(\w+)``", gate.__doc__ or "", flags=re.M)
    assert documented == list(CHECK_ORDER)
    assert CHECK_ORDER == (
        "role",
        "purpose",
        "site",
        "consent",
        "approval",
        "bias_audit",
        "envelope",
        "explanation",
    )


@pytest.mark.parametrize("stop", range(len(CHECKS)))
def test_the_gate_stops_at_the_first_check_that_withholds(
    api: Any, demo_twins: list[DemoTwin], monkeypatch: pytest.MonkeyPatch, stop: int
) -> None:
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    ran: list[str] = []

    def tracked(name: str, check: Any, withholds: bool) -> Any:
        def run(d: Deliberation) -> Verdict:
            ran.append(name)
            return withheld(f"{name} refused by the test") if withholds else check(d)

        return run

    monkeypatch.setattr(
        gate,
        "CHECKS",
        tuple((n, tracked(n, c, i == stop)) for i, (n, c) in enumerate(CHECKS)),
    )
    decision = api.service.predictions.predict(
        CARE, WHAS, "p-1", "treatment", features_of(twin_named(demo_twins, WHAS))
    )
    assert not decision.released
    assert ran == list(CHECK_ORDER[: stop + 1])
    assert [c.check for c in decision.checks] == list(CHECK_ORDER[: stop + 1])
    assert [c.passed for c in decision.checks] == [True] * stop + [False]
    record = api.service.audit.records(action="prediction", limit=10_000)[-1]
    assert record["record_id"] == decision.audit_id
    assert [c["check"] for c in record["checks"]] == list(CHECK_ORDER[: stop + 1])
    assert record["checks"][-1]["detail"] == f"{CHECK_ORDER[stop]} refused by the test"


def test_the_facts_are_read_once_per_request(
    api: Any, demo_twins: list[DemoTwin], monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    reads: list[tuple[str, str | None]] = []
    real = FactsReader.read

    def counted(
        self: FactsReader,
        principal: Principal,
        model: str,
        version: str | None,
        patient_id: str,
        purpose: str,
    ) -> Any:
        reads.append((model, version))
        return real(self, principal, model, version, patient_id, purpose)

    monkeypatch.setattr(FactsReader, "read", counted)
    decision = api.service.predictions.predict(
        CARE, WHAS, "p-1", "treatment", features_of(twin_named(demo_twins, WHAS))
    )
    assert decision.released
    assert reads == [(WHAS, None)]


def test_facts_of_another_request_are_refused(api: Any, demo_twins: list[DemoTwin]) -> None:
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    facts = api.service.gate.facts(CARE, WHAS, None, "p-1", "treatment")
    other = PredictionRequest(WHAS, "p-2", "treatment", features_of(twin_named(demo_twins, WHAS)))
    before = api.service.audit.count()
    with pytest.raises(ValueError, match="another request"):
        api.service.gate.decide(CARE, other, facts, api.service.runtime)
    assert api.service.audit.count() == before
