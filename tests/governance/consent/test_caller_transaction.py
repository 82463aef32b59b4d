"""Writes in a caller's transaction (``conn=``), on SQLite and PostgreSQL: a patient
registered, a consent granted and withdrawn, and observations ingested in one transaction
see each other, and are stored together when the caller commits or not at all when it
rolls back, their audit records with them (the FHIR transaction Bundle's all or nothing)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from governance.audit.chain import AuditLog
from governance.audit.verify import verify
from governance.consent.patient_keys import find, lookup_params
from governance.consent.patients import PatientService
from governance.errors import Conflict
from governance.identity.principal import Principal
from governance.identity.pseudonym import Pseudonymiser
from governance.policy.store import PolicyStore
from governance.twins.bank import TwinBank
from governance.twins.entries import check_entries
from governance.twins.keys import PatientKeys

POLICIES = Path(__file__).resolve().parents[3] / "policies"
CAL = Principal("cal", "clinician", "north")
MASTER = os.urandom(32)
TABLES = ("patient", "consent", "twin_observation", "patient_data_key", "audit_record")


class Aborted(Exception):
    """What the caller raises to roll its transaction back."""


@pytest.fixture()
def engine(both_engine: Engine) -> Engine:
    return both_engine


def parts(engine: Engine) -> tuple[PatientService, TwinBank, Pseudonymiser]:
    audit, pseudonymiser = AuditLog(engine), Pseudonymiser(b"k" * 32)
    patients = PatientService(engine, audit, PolicyStore(POLICIES), pseudonymiser)
    return patients, TwinBank(engine, audit, PatientKeys(MASTER)), pseudonymiser


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def weight(value: float, ident: str = "w1") -> list[dict[str, object]]:
    return [{"id": ident, "source": "ward", "kind": "weight", "time": "2026-03-01T08:00:00Z",
             "value": value, "unit": "kg"}]  # fmt: skip


def write_all(engine: Engine, fail: bool) -> None:
    """Register p1, grant and withdraw a consent, grant another, ingest a weight: one
    transaction, rolled back at its end when ``fail``."""
    patients, bank, pseudonymiser = parts(engine)
    kinds = PolicyStore(POLICIES).current().observation_kinds
    with engine.begin() as conn:
        _, created = patients.register(CAL, "p1", "north", conn=conn)
        assert created
        first = patients.grant(CAL, "p1", "treatment", ["vitals"], None, None, conn=conn)
        assert patients.withdraw(CAL, "p1", first.id, conn=conn).status == "withdrawn"
        patients.grant(CAL, "p1", "treatment", ["vitals"], None, None, conn=conn)
        key = find(conn, lookup_params(pseudonymiser, "north", "p1"))
        assert key is not None
        stored, _, _ = bank.ingest(CAL, key, check_entries(weight(70), kinds), {}, conn=conn)
        assert len(stored) == 1
        if fail:
            raise Aborted


def test_a_rolled_back_transaction_stores_nothing_of_its_writes(engine: Engine) -> None:
    before = counts(engine)
    with pytest.raises(Aborted):
        write_all(engine, fail=True)
    assert counts(engine) == before
    assert verify(engine).ok


def test_a_committed_transaction_stores_all_of_its_writes(engine: Engine) -> None:
    before = counts(engine)
    write_all(engine, fail=False)
    after = counts(engine)
    grown = {t: after[t] - before[t] for t in TABLES}
    # register, grant, withdraw, grant, ingest: five records
    assert grown == {"patient": 1, "consent": 2, "twin_observation": 1, "patient_data_key": 1,
                     "audit_record": 5}  # fmt: skip
    assert verify(engine).ok


def test_a_conflicting_observation_rolls_back_the_writes_before_it(engine: Engine) -> None:
    write_all(engine, fail=False)
    patients, bank, pseudonymiser = parts(engine)
    kinds = PolicyStore(POLICIES).current().observation_kinds
    before = counts(engine)
    with pytest.raises(Conflict), engine.begin() as conn:
        patients.register(CAL, "p2", "north", conn=conn)
        patients.grant(CAL, "p2", "treatment", ["vitals"], None, None, conn=conn)
        key = find(conn, lookup_params(pseudonymiser, "north", "p1"))
        assert key is not None
        bank.ingest(CAL, key, check_entries(weight(71), kinds), {}, conn=conn)
    assert counts(engine) == before
