"""What waits for a device-fed twin's recalibration: the readings of the kinds it reads,
stored for its patient since its latest state (converged or failed) or, before any,
since it was made. Counted from what is stored in clear (kind, time of recording), so the
count survives a restart of the ingester."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Engine, func, select

from governance.clock import as_utc
from governance.errors import NotFound
from governance.store.db import read_connection
from governance.store.twin_records import PatientTwin, TwinObservation, TwinState

_twin = PatientTwin.__table__  # type: ignore[attr-defined]
_obs = TwinObservation.__table__  # type: ignore[attr-defined]
_state = TwinState.__table__  # type: ignore[attr-defined]


def pending_readings(engine: Engine, twin_id: str, kinds: Collection[str]) -> tuple[int, datetime]:
    """(readings of ``kinds`` recorded since the twin's latest state, that state's time)."""
    with read_connection(engine) as conn:
        twin = conn.execute(
            select(_twin.c.patient_key, _twin.c.created_at).where(_twin.c.id == twin_id)
        ).one_or_none()
        if twin is None:
            raise NotFound("no twin with this id")
        latest = conn.execute(
            select(func.max(_state.c.created_at)).where(_state.c.twin_id == twin_id)
        ).scalar_one_or_none()
        since = as_utc(latest if latest is not None else twin.created_at)
        count = conn.execute(
            select(func.count()).where(
                _obs.c.patient_key == twin.patient_key,
                _obs.c.kind.in_(sorted(kinds)),
                _obs.c.recorded_at > since,
            )
        ).scalar_one()
    return int(count), since
