"""The twin bank on SQLite and PostgreSQL: idempotent observations (the same key twice
stores one; the same key with other content is refused), patient data sealed at rest
(the database file holds no stored value in clear), and erasure (the key destroyed, the
twins retired, the data unreadable, the audit chain intact)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from governance.audit.chain import AuditLog
from governance.audit.verify import verify
from governance.errors import Conflict, PatientErased
from governance.identity.principal import Principal
from governance.policy.store import PolicySet
from governance.store.migrations import upgraded_engine
from governance.twins.bank import RETIRED, TwinBank
from governance.twins.entries import check_entries
from governance.twins.keys import PatientKeys

REPO = Path(__file__).resolve().parents[3]
KINDS = PolicySet(REPO / "policies").observation_kinds
CLINICIAN = Principal("carla", "clinician", "site-a")
PATIENT = "k" * 64
#: A value that appears nowhere else: found in the file only if stored in clear.
MARKER = 123.456789


@pytest.fixture()
def engine(both_engine: Engine) -> Engine:
    return both_engine


def make_bank(engine: Engine) -> tuple[TwinBank, AuditLog]:
    audit = AuditLog(engine)
    return TwinBank(engine, audit, PatientKeys(os.urandom(32))), audit


def weight(value: float, ident: str = "w1") -> list[dict[str, object]]:
    raw = {"id": ident, "source": "ward", "kind": "weight", "time": "2026-03-01T08:00:00Z",
           "value": value, "unit": "kg"}  # fmt: skip
    return [raw]


def test_the_same_key_twice_stores_one_and_other_content_is_a_conflict(engine: Engine) -> None:
    bank, _ = make_bank(engine)
    stored, repeated, _ = bank.ingest(CLINICIAN, PATIENT, check_entries(weight(70), KINDS), {})
    assert len(stored) == 1 and repeated == []
    again, repeated, _ = bank.ingest(CLINICIAN, PATIENT, check_entries(weight(70), KINDS), {})
    assert again == [] and repeated == stored
    with pytest.raises(Conflict, match=r"observations\[0\]"):
        bank.ingest(CLINICIAN, PATIENT, check_entries(weight(71), KINDS), {})
    [only] = bank.observations(PATIENT)
    assert only.body["value"] == 70.0 and only.id == stored[0]


def test_a_refused_batch_stores_nothing(engine: Engine) -> None:
    bank, _ = make_bank(engine)
    bank.ingest(CLINICIAN, PATIENT, check_entries(weight(70), KINDS), {})
    batch = check_entries(weight(80, "w2") + weight(71), KINDS)
    with pytest.raises(Conflict):
        bank.ingest(CLINICIAN, PATIENT, batch, {})
    assert [o.body["id"] for o in bank.observations(PATIENT)] == ["w1"]


def test_patient_data_are_sealed_at_rest(tmp_path: Path) -> None:
    engine = upgraded_engine(f"sqlite:///{tmp_path / 'governance.db'}")
    bank, _ = make_bank(engine)
    bank.ingest(CLINICIAN, PATIENT, check_entries(weight(MARKER), KINDS), {})
    twin = bank.add_twin(CLINICIAN, PATIENT, "site-a", "vancomycin-auc", "1", "treatment", "a")
    bank.add_state(CLINICIAN, twin, "converged", {"cl": MARKER}, "b")
    bank.add_output(CLINICIAN, twin, 1, "forecast", {"auc24": MARKER}, "c")
    assert bank.observations(PATIENT)[0].body["value"] == MARKER
    engine.dispose()
    files = [p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("governance.db")]
    assert any(b"ward" in data for data in files)  # what is kept in clear is found
    assert not any(str(MARKER).encode() in data for data in files)


def test_erasure_destroys_the_key_retires_the_twins_and_keeps_the_chain(engine: Engine) -> None:
    bank, _ = make_bank(engine)
    bank.ingest(CLINICIAN, PATIENT, check_entries(weight(70), KINDS), {})
    twin = bank.add_twin(CLINICIAN, PATIENT, "site-a", "vancomycin-auc", "1", "treatment", "a")
    bank.add_state(CLINICIAN, twin, "converged", {"cl": 4.5}, "b")
    record_id = bank.erase(Principal("ada", "admin"), PATIENT, {"reason": "request of the patient"})
    assert record_id and bank.is_erased(PATIENT)
    assert [t.status for t in bank.twins(PATIENT, None)] == [RETIRED]
    for read in (lambda: bank.observations(PATIENT), lambda: bank.states(twin)):
        with pytest.raises(PatientErased):
            read()
    with pytest.raises(PatientErased):  # nothing new is stored for an erased patient
        bank.ingest(CLINICIAN, PATIENT, check_entries(weight(70, "w9"), KINDS), {})
    with pytest.raises(PatientErased):
        bank.add_twin(CLINICIAN, PATIENT, "site-a", "vancomycin-auc", "1", "treatment", "a")
    with engine.connect() as conn:
        wrapped = conn.execute(text("SELECT wrapped FROM patient_data_key")).scalar_one()
    assert wrapped is None
    assert verify(engine).ok
