"""Approval's preconditions, read without acting: each says what is missing, and the
approval succeeds exactly when every one is met."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from governance.audit.chain import AuditLog
from governance.clock import utcnow
from governance.errors import Conflict, DossierRequired, FourEyesViolation
from governance.identity.principal import Principal
from governance.lifecycle.versions import Lifecycle
from governance.policy.store import PolicyStore
from tests.governance.dossier_evidence import record_passing_dossier
from tests.governance.oversight.test_reports import card

POLICIES = Path(__file__).resolve().parents[3] / "policies"
DANA = Principal("dana", "validator")  # registers, then may not approve her own
VIC = Principal("vic", "validator")


@pytest.fixture()
def lifecycle(sqlite_engine: Engine) -> Lifecycle:
    life = Lifecycle(sqlite_engine, AuditLog(sqlite_engine), PolicyStore(POLICIES))
    life.record_registration(
        Principal("dana", "data_scientist"),
        model="sepsis",
        version="1",
        kind="logistic_regression",
        artifact_sha256="a" * 64,
        evaluation_digest="e" * 64,
        run_id="run1",
        card=card(),
        environment={"python": "3.11"},
    )
    return life


def _missing(life: Lifecycle, who: Principal = VIC, days: float = 0) -> dict[str, str]:
    found = life.approval_preconditions(who, "sepsis", "1", utcnow() + timedelta(days=days))
    assert [p.name for p in found] == ["status", "bias_audit", "dossier", "four_eyes"]
    return {p.name: p.detail for p in found if not p.met}


def test_a_registered_version_lacks_its_audit_and_dossier(lifecycle: Lifecycle) -> None:
    missing = _missing(lifecycle)
    assert set(missing) == {"status", "bias_audit", "dossier"}
    assert "no passing bias audit" in missing["bias_audit"]
    assert "no validation dossier" in missing["dossier"]
    with pytest.raises(Conflict):
        lifecycle.approve(VIC, "sepsis", "1", "looks fine")


def test_every_precondition_met_is_an_approval_that_succeeds(lifecycle: Lifecycle) -> None:
    lifecycle.record_bias_audit(VIC, "sepsis", "1", passed=True, metrics={})
    assert set(_missing(lifecycle)) == {"dossier"}
    with pytest.raises(DossierRequired):
        lifecycle.approve(VIC, "sepsis", "1", "looks fine")
    record_passing_dossier(lifecycle, VIC, "sepsis", "1")
    assert _missing(lifecycle) == {}
    assert "registered by dana" in _missing(lifecycle, DANA)["four_eyes"]
    with pytest.raises(FourEyesViolation):
        lifecycle.approve(DANA, "sepsis", "1", "my own")
    lifecycle.approve(VIC, "sepsis", "1", "every precondition met")
    assert lifecycle.version("sepsis", "1").status == "approved"
    assert "only a validated version" in _missing(lifecycle)["status"]


def test_an_audit_older_than_the_policy_allows_is_missing(lifecycle: Lifecycle) -> None:
    lifecycle.record_bias_audit(VIC, "sepsis", "1", passed=True, metrics={})
    record_passing_dossier(lifecycle, VIC, "sepsis", "1")
    missing = _missing(lifecycle, days=181)
    assert set(missing) == {"bias_audit"}
    assert "older than the policy's maximum age of 180 days" in missing["bias_audit"]


def test_reading_the_preconditions_changes_nothing(
    lifecycle: Lifecycle, sqlite_engine: Engine
) -> None:
    audit = AuditLog(sqlite_engine)
    before = audit.count()
    _missing(lifecycle)
    assert audit.count() == before
    assert lifecycle.version("sepsis", "1").status == "registered"
