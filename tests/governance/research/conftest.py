"""Research fixtures: a governance database on SQLite and on PostgreSQL, its audit log,
and a site's patients with consents and vancomycin twins stored as the product stores
them (patients, consents, the twin bank)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from governance.audit.chain import AuditLog
from governance.canonical import canonical_json
from governance.identity.principal import Principal
from governance.store.migrations import upgraded_engine
from governance.store.records import Consent, Patient
from governance.twins.bank import TwinBank
from governance.twins.keys import PatientKeys

SITE = "st-mary"
CLINICIAN = Principal("carla", "clinician", SITE)
MODEL = "vancomycin-auc"
CATEGORIES = ["demographics", "labs", "medication"]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_schema_url")
    else:
        url = f"sqlite:///{tmp_path / 'governance.db'}"
    built = upgraded_engine(url)
    yield built
    built.dispose()


@pytest.fixture()
def audit(engine: Engine) -> AuditLog:
    return AuditLog(engine)


def add_patient(
    engine: Engine,
    bank: TwinBank,
    site: str = SITE,
    purpose: str = "research",
    categories: list[str] | None = None,
    model: str = MODEL,
) -> tuple[str, str, str]:
    """A patient of ``site`` with a consent for ``purpose`` and a twin of ``model``:
    (patient key, consent id, twin id)."""
    key = uuid.uuid4().hex + uuid.uuid4().hex
    consent_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Patient.__table__).values(  # type: ignore[attr-defined]
                patient_key=key, site=site, registered_by="carla", registered_at=now
            )
        )
        conn.execute(
            insert(Consent.__table__).values(  # type: ignore[attr-defined]
                id=consent_id, patient_key=key, purpose=purpose,
                data_categories=canonical_json(sorted(categories or CATEGORIES)),
                granted_by="carla", granted_at=now,
            )
        )  # fmt: skip
    twin = bank.add_twin(CLINICIAN, key, site, model, "1", "treatment", "audit-id")
    return key, consent_id, twin.id


@pytest.fixture()
def bank(engine: Engine, audit: AuditLog) -> TwinBank:
    return TwinBank(engine, audit, PatientKeys(os.urandom(32)))
