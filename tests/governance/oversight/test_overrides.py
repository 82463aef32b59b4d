"""Clinician overrides: released decisions only, own site only, reason required, audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from governance.audit.chain import AuditLog
from governance.audit.verify import verify
from governance.errors import Conflict, Forbidden, InvalidInput, NotFound
from governance.identity.principal import Principal
from governance.oversight.overrides import OVERRIDE_AUDIT_ACTION, OverrideService
from governance.policy.store import PolicyStore
from governance.store.records import Override

POLICIES = Path(__file__).resolve().parents[3] / "policies"
PATIENT = "ab" * 32
CAL = Principal("cal", "clinician", "north")
CORA = Principal("cora", "clinician", "north")
SAM = Principal("sam", "clinician", "south")


def decision(audit: AuditLog, outcome: str = "released", site: str = "north") -> str:
    """A decision record shaped as the release gate writes it."""
    checks: list[dict[str, Any]] = [
        {"check": "role", "passed": True, "detail": "allowed", "rule": ["clinician"]},
        {"check": "consent", "passed": outcome == "released", "detail": "consent"},
    ]
    return audit.append(
        "prediction",
        {
            "principal": {"user": "cal", "role": "clinician", "site": site},
            "patient": PATIENT,
            "purpose": "treatment",
            "model": "sepsis",
            "model_version": "3",
            "decision": outcome,
            "checks": checks,
            "policy_version": "p" * 64,
            "input_digest": "i" * 64,
            "output_digest": "o" * 64 if outcome == "released" else None,
            "warnings": [],
        },
    ).record_id


@pytest.fixture()
def audit(sqlite_engine: Engine) -> AuditLog:
    return AuditLog(sqlite_engine)


@pytest.fixture()
def service(sqlite_engine: Engine, audit: AuditLog) -> OverrideService:
    return OverrideService(sqlite_engine, audit, PolicyStore(POLICIES))


def overrides_stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Override)).scalar_one())


def test_a_clinician_of_the_site_overrides_a_released_prediction(
    sqlite_engine: Engine, audit: AuditLog, service: OverrideService
) -> None:
    audit_id = decision(audit)
    view = service.record(CORA, audit_id, "overridden", "  lactate trend contradicts it  ")
    assert (view.audit_id, view.action, view.clinician, view.site) == (
        audit_id,
        "overridden",
        "cora",
        "north",
    )
    assert view.reason == "lactate trend contradicts it"
    assert (view.model, view.model_version) == ("sepsis", "3")
    # The audit record joined the same transaction, and the chain still verifies.
    [record] = audit.records(action=OVERRIDE_AUDIT_ACTION)
    assert record["record_id"] == view.override_audit_id
    assert record["decision_id"] == audit_id
    assert record["reason"] == "lactate trend contradicts it"
    assert record["principal"] == {"user": "cora", "role": "clinician", "site": "north"}
    assert record["patient"] == PATIENT  # the keyed hash already in the decision, no more
    assert verify(sqlite_engine).ok
    assert [v.id for v in service.for_decision(audit_id)] == [view.id]
    assert view.to_dict()["at"].endswith("Z")


def test_the_stored_row_holds_no_patient_data_beyond_the_keyed_hash(
    sqlite_engine: Engine, audit: AuditLog, service: OverrideService
) -> None:
    service.record(CAL, decision(audit), "disregarded", "patient already on antibiotics")
    with sqlite_engine.connect() as conn:
        row = conn.execute(select(Override)).one()._mapping
    assert row["patient_key"] == PATIENT
    assert set(row) == {
        "id",
        "audit_id",
        "model",
        "model_version",
        "patient_key",
        "site",
        "action",
        "reason",
        "clinician",
        "at",
        "override_audit_id",
    }


def test_another_sites_clinician_is_forbidden_and_the_refusal_audited(
    sqlite_engine: Engine, audit: AuditLog, service: OverrideService
) -> None:
    audit_id = decision(audit, site="north")
    with pytest.raises(Forbidden, match="site"):
        service.record(SAM, audit_id, "overridden", "disagree")
    assert overrides_stored(sqlite_engine) == 0
    [refusal] = audit.records(action=OVERRIDE_AUDIT_ACTION + ".refused")
    assert refusal["decision_id"] == audit_id
    assert refusal["principal"]["user"] == "sam"
    assert audit.records(action=OVERRIDE_AUDIT_ACTION) == []


@pytest.mark.parametrize(
    "principal",
    [
        Principal("vic", "validator"),
        Principal("eve", "ethics_board"),
        Principal("ann", "admin"),
        Principal("nat", "nurse", "north"),
    ],
)
def test_only_clinicians_may_override(
    sqlite_engine: Engine, audit: AuditLog, service: OverrideService, principal: Principal
) -> None:
    with pytest.raises(Forbidden):
        service.record(principal, decision(audit), "overridden", "disagree")
    assert overrides_stored(sqlite_engine) == 0


def test_a_withheld_decision_cannot_be_overridden(
    sqlite_engine: Engine, audit: AuditLog, service: OverrideService
) -> None:
    with pytest.raises(Conflict, match="withheld"):
        service.record(CAL, decision(audit, "withheld"), "overridden", "disagree")
    assert overrides_stored(sqlite_engine) == 0


def test_unknown_ids_and_other_records_are_not_found(
    audit: AuditLog, service: OverrideService
) -> None:
    with pytest.raises(NotFound):
        service.record(CAL, "00000000-0000-4000-8000-000000000000", "overridden", "x")
    refused = audit.append("prediction.refused", {"decision": "refused", "reason": "bad"})
    with pytest.raises(NotFound):
        service.record(CAL, refused.record_id, "overridden", "x")
    other = audit.append("consent.grant", {"decision": "released"})
    with pytest.raises(NotFound):
        service.record(CAL, other.record_id, "overridden", "x")


@pytest.mark.parametrize("reason", ["", "   ", "\n\t", "x" * 2001])
def test_a_reason_is_required(
    sqlite_engine: Engine, audit: AuditLog, service: OverrideService, reason: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        service.record(CAL, decision(audit), "overridden", reason)
    assert info.value.field == "reason"
    assert overrides_stored(sqlite_engine) == 0


def test_the_action_must_be_disregarded_or_overridden(
    audit: AuditLog, service: OverrideService
) -> None:
    with pytest.raises(InvalidInput) as info:
        service.record(CAL, decision(audit), "ignored", "why")  # type: ignore[arg-type]
    assert info.value.field == "action"


def test_one_override_per_clinician_and_decision(
    sqlite_engine: Engine, audit: AuditLog, service: OverrideService
) -> None:
    audit_id = decision(audit)
    service.record(CAL, audit_id, "disregarded", "first look")
    with pytest.raises(Conflict, match="already"):
        service.record(CAL, audit_id, "overridden", "second look")
    service.record(CORA, audit_id, "overridden", "a colleague's view")
    assert overrides_stored(sqlite_engine) == 2
    # The failed attempt rolled back its audit record with the row.
    records = audit.records(action=OVERRIDE_AUDIT_ACTION)
    assert [r["reason"] for r in records] == ["first look", "a colleague's view"]
    assert verify(sqlite_engine).ok
