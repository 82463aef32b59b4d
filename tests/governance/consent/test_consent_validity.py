"""Consent validity at the limits of what a datetime holds: granted, read back and
checked by the release gate on SQLite and on PostgreSQL whatever the server's time zone
(issue 13, finding 11)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, select

from governance.audit.chain import AuditLog
from governance.consent.patient_keys import SITE_COLUMN, consents_column, lookup_params
from governance.consent.patients import PatientService
from governance.identity.principal import Principal
from governance.identity.pseudonym import Pseudonymiser
from governance.policy.store import PolicyStore
from governance.store.migrations import upgraded_engine

POLICIES = Path(__file__).resolve().parents[3] / "policies"
CAL = Principal("cal", "clinician", "north")
EAST, WEST = timezone(timedelta(hours=23, minutes=59)), timezone(-timedelta(hours=23, minutes=59))
#: (valid_from, valid_until) given by a client, as msgspec hands them over.
LIMITS = (
    (datetime(1, 1, 1, tzinfo=EAST), None),
    (datetime(1, 1, 1, tzinfo=UTC), None),
    (None, datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    (None, datetime(9999, 12, 31, 23, 59, tzinfo=WEST)),
    (datetime(1, 1, 1, tzinfo=EAST), datetime(9999, 12, 31, 23, 59, tzinfo=WEST)),
)


@pytest.fixture(params=["sqlite", "Pacific/Kiritimati", "Etc/GMT+12"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """SQLite, or a fresh PostgreSQL database whose default time zone is 14 hours east
    or 12 hours west of UTC."""
    if request.param == "sqlite":
        engine = upgraded_engine(f"sqlite:///{tmp_path / 'governance.db'}")
        yield engine
        engine.dispose()
        return
    url = request.getfixturevalue("pg_url")
    plain = url.replace("+psycopg", "")
    name = f"twinreg_tz_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f"ALTER DATABASE \"{name}\" SET timezone TO '{request.param}'")
    engine = upgraded_engine(url.rsplit("/", 1)[0] + "/" + name)
    yield engine
    engine.dispose()
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize(("valid_from", "valid_until"), LIMITS)
def test_validity_at_the_limits_round_trips(
    engine: Engine, valid_from: datetime | None, valid_until: datetime | None
) -> None:
    pseudonymiser = Pseudonymiser(b"k" * 32)
    patients = PatientService(engine, AuditLog(engine), PolicyStore(POLICIES), pseudonymiser)
    patients.register(CAL, "p1", "north")
    granted = patients.grant(CAL, "p1", "treatment", ["vitals"], valid_from, valid_until)
    (listed,) = patients.consents(CAL, "p1")
    assert (listed.valid_from, listed.valid_until) == (granted.valid_from, granted.valid_until)
    for value in (listed.valid_from, listed.valid_until):
        assert value is None or value.year in (1, 9999)
    # the gate's facts read sees it (active now when it started at the beginning)
    statement = select(SITE_COLUMN, consents_column(engine.dialect.name))
    with engine.connect() as conn:
        row = conn.execute(
            statement,
            {
                **lookup_params(pseudonymiser, "north", "p1"),
                "purpose": "treatment",
                "at": datetime.now(UTC),
            },
        ).one()
    assert row.site == "north"
    assert (row.consents is not None) == (valid_until is None or valid_until.year == 9999)
