"""A clinician may record that they accepted a released result (issue 16): the same row
and audit record as a disregard or an override, a reason optional; the other two still
need one, and the ethics report counts each action apart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from governance.audit.chain import AuditLog
from governance.clock import utcnow
from governance.errors import InvalidInput
from governance.oversight.overrides import OVERRIDE_AUDIT_ACTION, OverrideService
from governance.oversight.report_overrides import override_section
from governance.policy.store import PolicyStore
from tests.governance.oversight.test_overrides import CAL, CORA, POLICIES, decision


@pytest.fixture()
def audit(sqlite_engine: Engine) -> AuditLog:
    return AuditLog(sqlite_engine)


@pytest.fixture()
def service(sqlite_engine: Engine, audit: AuditLog) -> OverrideService:
    return OverrideService(sqlite_engine, audit, PolicyStore(POLICIES))


def test_accepted_is_recorded_without_a_reason_and_audited(
    service: OverrideService, audit: AuditLog
) -> None:
    audit_id = decision(audit)
    view = service.record(CAL, audit_id, "accepted", "")
    assert view.action == "accepted"
    recorded = audit.records(action=OVERRIDE_AUDIT_ACTION)
    assert [(r["override_id"], r["decision_id"]) for r in recorded] == [(view.id, audit_id)]


@pytest.mark.parametrize("action", ["disregarded", "overridden"])
def test_disregard_and_override_still_need_a_reason(
    service: OverrideService, audit: AuditLog, action: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        service.record(CAL, decision(audit), action, "  ")  # type: ignore[arg-type]
    assert raised.value.field == "reason"


def test_the_report_counts_each_action_apart(
    service: OverrideService, audit: AuditLog, sqlite_engine: Engine
) -> None:
    first, second = decision(audit), decision(audit)
    service.record(CAL, first, "accepted", "")
    service.record(CORA, first, "overridden", "dose adjusted for dialysis")
    service.record(CAL, second, "disregarded", "already discharged")
    now = utcnow()
    with sqlite_engine.connect() as conn:
        section = override_section(conn, now - timedelta(hours=1), now + timedelta(hours=1))
    assert (section.total, section.accepted, section.overridden, section.disregarded) == (
        3,
        1,
        1,
        1,
    )
