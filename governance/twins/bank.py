"""The bank of patient twins: instances, observations, states and outputs, stored with
patient data sealed under the patient's key (:mod:`governance.twins.keys`).

Writes and their audit records commit together (``audit.append(..., conn=conn)``).
Ingestion may join a caller's transaction (``conn``, :func:`governance.store.db.joined`):
then the caller commits it, with everything else it wrote.
Authorization and the release gate are the caller's (:mod:`api.composition.twins`): this
module stores and reads what it is given.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from governance.audit.chain import AuditLog
from governance.canonical import canonical_json
from governance.clock import as_utc, utcnow
from governance.errors import Conflict, InvalidInput, NotFound, PatientErased
from governance.identity.principal import Principal
from governance.store.db import joined, read_connection, reading
from governance.store.twin_records import (
    PatientTwin,
    TwinMove,
    TwinObservation,
    TwinOutput,
    TwinState,
)
from governance.twins.entries import Entry
from governance.twins.keys import PatientKeys, keyed_digest, seal, unseal
from governance.twins.views import Record, TwinView, twin_view

_twin = PatientTwin.__table__  # type: ignore[attr-defined]
_obs = TwinObservation.__table__  # type: ignore[attr-defined]
_state = TwinState.__table__  # type: ignore[attr-defined]
_out = TwinOutput.__table__  # type: ignore[attr-defined]
_move = TwinMove.__table__  # type: ignore[attr-defined]
ACTIVE, RETIRED = "active", "retired"


def _stored_keys(
    conn: Connection, patient_key: str, entries: Sequence[Entry]
) -> dict[tuple[str, str], tuple[str, str]]:
    """(source, id) -> (row id, content digest) of the entries already stored."""
    ids = sorted({e.id for e in entries})
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for start in range(0, len(ids), 500):  # bounded parameter lists
        rows = conn.execute(
            select(_obs.c.id, _obs.c.source, _obs.c.entry_id, _obs.c.content_digest).where(
                _obs.c.patient_key == patient_key, _obs.c.entry_id.in_(ids[start : start + 500])
            )
        )
        found.update({(r.source, r.entry_id): (r.id, r.content_digest) for r in rows})
    return found


def _json(value: Mapping[str, Any]) -> bytes:
    return canonical_json(value).encode("utf-8")


class TwinBank:
    def __init__(self, engine: Engine, audit: AuditLog, keys: PatientKeys) -> None:
        self._engine = engine
        self._audit = audit
        self._keys = keys

    # -- twins ----------------------------------------------------------------------------
    def add_twin(
        self,
        principal: Principal,
        patient_key: str,
        site: str,
        model: str,
        model_version: str,
        purpose: str,
        audit_id: str,
    ) -> TwinView:
        """A new twin at state 0 (made after the gate released its creation, ``audit_id``)."""
        twin_id = str(uuid.uuid4())
        with self._engine.begin() as conn:
            self._keys.data_key(conn, patient_key, create=True)  # an erased patient: refused
            conn.execute(
                insert(_twin).values(
                    id=twin_id,
                    patient_key=patient_key,
                    site=site,
                    model=model,
                    model_version=model_version,
                    purpose=purpose,
                    state=0,
                    status=ACTIVE,
                    created_by=principal.user,
                    created_at=utcnow(),
                    audit_id=audit_id,
                )
            )
            row = conn.execute(select(_twin).where(_twin.c.id == twin_id)).one()
        return twin_view(row)

    def twin(self, patient_key: str, twin_id: str) -> TwinView:
        with read_connection(self._engine) as conn:
            row = conn.execute(
                select(_twin).where(_twin.c.id == twin_id, _twin.c.patient_key == patient_key)
            ).one_or_none()
        if row is None:
            raise NotFound("no twin with this id for this patient")
        return twin_view(row)

    def twins(
        self, patient_key: str, status: str | None = ACTIVE, *, conn: Connection | None = None
    ) -> list[TwinView]:
        query = select(_twin).where(_twin.c.patient_key == patient_key)
        if status is not None:
            query = query.where(_twin.c.status == status)
        with reading(self._engine, conn) as tx:
            return [twin_view(r) for r in tx.execute(query.order_by(_twin.c.created_at))]

    # -- observations ---------------------------------------------------------------------
    def ingest(
        self,
        principal: Principal,
        patient_key: str,
        entries: Sequence[Entry],
        audit: dict[str, Any],
        *,
        conn: Connection | None = None,
    ) -> tuple[list[str], list[str], str]:
        """Store ``entries`` (one transaction, with the ``observation.ingest`` record built
        from ``audit``, with ``digest``: the HMAC under the patient's key of the entries'
        content digests in order, each as ``content_digest`` stores it). Returns (stored,
        already stored) observation ids and the record id. The same key with other content
        refuses the whole request (:class:`Conflict`). With ``conn``: in the caller's
        transaction."""
        stored: list[str] = []
        repeated: list[str] = []
        digests: list[str] = []
        rows: list[dict[str, Any]] = []
        with joined(self._engine, conn) as tx:
            key = self._keys.data_key(tx, patient_key, create=True)
            known = _stored_keys(tx, patient_key, entries)  # one query for the batch
            for index, entry in enumerate(entries):
                content = _json(entry.content())
                digest = keyed_digest(key, content)
                digests.append(digest)
                existing = known.get((entry.source, entry.id))
                if existing is not None:
                    if existing[1] != digest:
                        raise Conflict(
                            f"observations[{index}]: id {entry.id!r} from {entry.source!r} is "
                            "already stored with other content; send a new id for a new value"
                        )
                    if existing[0] not in repeated:
                        repeated.append(existing[0])
                    continue
                row_id = str(uuid.uuid4())
                known[(entry.source, entry.id)] = (row_id, digest)
                rows.append({
                    "id": row_id, "patient_key": patient_key, "source": entry.source,
                    "entry_id": entry.id, "kind": entry.kind, "category": entry.category,
                    "content_digest": digest,
                    "payload": seal(key, content, f"twin_observation/{row_id}"),
                    "recorded_at": utcnow(), "recorded_by": principal.user,
                })  # fmt: skip
                stored.append(row_id)
            # one digest of the whole batch: of its entries' content digests, in order
            batch = keyed_digest(key, "\n".join(digests).encode("ascii"))
            body = {**audit, "stored": stored, "already_stored": repeated, "digest": batch}
            entry_audit = self._audit.append("observation.ingest", body, conn=tx)
            if rows:  # one statement for the batch's rows, each with the batch's record
                tx.execute(insert(_obs), [{**r, "audit_id": entry_audit.record_id} for r in rows])
        return stored, repeated, entry_audit.record_id

    def observations(self, patient_key: str) -> list[Record]:
        """Every observation of the patient, opened, in the order they were recorded."""
        with read_connection(self._engine) as conn:
            key = self._keys.data_key(conn, patient_key)
            rows = conn.execute(
                select(_obs)
                .where(_obs.c.patient_key == patient_key)
                .order_by(_obs.c.recorded_at, _obs.c.id)
            ).all()
        return [
            Record(
                r.id,
                r.kind,
                as_utc(r.recorded_at),
                r.audit_id,
                json.loads(unseal(key, r.payload, f"twin_observation/{r.id}")),
            )
            for r in rows
        ]

    # -- states and outputs ---------------------------------------------------------------
    def add_state(
        self,
        principal: Principal,
        twin: TwinView,
        status: str,
        body: Mapping[str, Any],
        audit_id: str,
    ) -> Record:
        """State ``twin.state + 1`` (converged or failed); the counter moves only from the
        state the caller calibrated from (a concurrent calibration: :class:`Conflict`)."""
        number = twin.state + 1
        row_id = str(uuid.uuid4())
        at = utcnow()
        with self._engine.begin() as conn:
            key = self._keys.data_key(conn, twin.patient_key)
            moved = conn.execute(
                update(_twin)
                .where(_twin.c.id == twin.id, _twin.c.state == twin.state, _twin.c.status == ACTIVE)
                .values(state=number)
            ).rowcount
            if not moved:
                raise Conflict("the twin changed meanwhile (another calibration, or retired)")
            conn.execute(
                insert(_state).values(
                    id=row_id,
                    twin_id=twin.id,
                    number=number,
                    status=status,
                    payload=seal(key, _json(body), f"twin_state/{row_id}"),
                    created_at=at,
                    created_by=principal.user,
                    audit_id=audit_id,
                )
            )
        return Record(row_id, "state", at, audit_id, dict(body), number, status)

    def states(self, twin: TwinView) -> list[Record]:
        with read_connection(self._engine) as conn:
            key = self._keys.data_key(conn, twin.patient_key)
            rows = conn.execute(
                select(_state).where(_state.c.twin_id == twin.id).order_by(_state.c.number)
            ).all()
        return [
            Record(
                r.id,
                "state",
                as_utc(r.created_at),
                r.audit_id,
                json.loads(unseal(key, r.payload, f"twin_state/{r.id}")),
                r.number,
                r.status,
            )
            for r in rows
        ]

    def add_output(
        self,
        principal: Principal,
        twin: TwinView,
        state_number: int,
        kind: str,
        body: Mapping[str, Any],
        audit_id: str,
    ) -> Record:
        row_id = str(uuid.uuid4())
        at = utcnow()
        with self._engine.begin() as conn:
            key = self._keys.data_key(conn, twin.patient_key)
            conn.execute(
                insert(_out).values(
                    id=row_id,
                    twin_id=twin.id,
                    state_number=state_number,
                    kind=kind,
                    payload=seal(key, _json(body), f"twin_output/{row_id}"),
                    created_at=at,
                    created_by=principal.user,
                    audit_id=audit_id,
                )
            )
        return Record(row_id, kind, at, audit_id, dict(body), state_number)

    def outputs(self, twin: TwinView) -> list[Record]:
        with read_connection(self._engine) as conn:
            key = self._keys.data_key(conn, twin.patient_key)
            rows = conn.execute(
                select(_out).where(_out.c.twin_id == twin.id).order_by(_out.c.created_at, _out.c.id)
            ).all()
        return [
            Record(
                r.id,
                r.kind,
                as_utc(r.created_at),
                r.audit_id,
                json.loads(unseal(key, r.payload, f"twin_output/{r.id}")),
                r.state_number,
            )
            for r in rows
        ]

    # -- moves to another version ----------------------------------------------------------
    def move(
        self,
        principal: Principal,
        twin: TwinView,
        to_version: str,
        state: Mapping[str, Any],
        reason: str,
        audit: Mapping[str, Any],
    ) -> tuple[Record, Record]:
        """Move the twin to ``to_version`` with its first state there (converged), in one
        transaction: the state (its record: the gate's, ``audit["gate_record"]``), the
        twin's version and counter, the move and its ``twin.moved`` record (``audit`` with
        both versions and the state; the reason stays sealed). A twin changed meanwhile
        (calibrated, moved or retired): :class:`Conflict`."""
        if not reason.strip():
            raise InvalidInput("a reason is required", field="reason")
        number = twin.state + 1
        state_id, move_id = str(uuid.uuid4()), str(uuid.uuid4())
        moved_body = {"from_version": twin.model_version, "to_version": to_version,
                      "state": number, "reason": reason}  # fmt: skip
        at = utcnow()
        with self._engine.begin() as conn:
            key = self._keys.data_key(conn, twin.patient_key)
            changed = conn.execute(
                update(_twin)
                .where(
                    _twin.c.id == twin.id,
                    _twin.c.state == twin.state,
                    _twin.c.model_version == twin.model_version,
                    _twin.c.status == ACTIVE,
                )
                .values(state=number, model_version=to_version)
            ).rowcount
            if not changed:
                raise Conflict("the twin changed meanwhile (calibrated, moved or retired)")
            gate_record = str(audit["gate_record"])
            conn.execute(insert(_state).values(
                id=state_id, twin_id=twin.id, number=number, status="converged",
                payload=seal(key, _json(state), f"twin_state/{state_id}"), created_at=at,
                created_by=principal.user, audit_id=gate_record,
            ))  # fmt: skip
            recorded = {**audit, "from_version": twin.model_version, "to_version": to_version,
                        "state": number}  # fmt: skip
            audit_id = self._audit.append("twin.moved", recorded, conn=conn).record_id
            conn.execute(insert(_move).values(
                id=move_id, twin_id=twin.id, from_version=twin.model_version,
                to_version=to_version, state_number=number,
                payload=seal(key, _json(moved_body), f"twin_move/{move_id}"), created_at=at,
                created_by=principal.user, audit_id=audit_id,
            ))  # fmt: skip
        return (
            Record(state_id, "state", at, gate_record, dict(state), number, "converged"),
            Record(move_id, "move", at, audit_id, moved_body, number),
        )

    def moves(self, twin: TwinView) -> list[Record]:
        """The twin's moves, oldest first (``body``: from_version, to_version, state, reason)."""
        with read_connection(self._engine) as conn:
            key = self._keys.data_key(conn, twin.patient_key)
            rows = conn.execute(
                select(_move).where(_move.c.twin_id == twin.id).order_by(_move.c.state_number)
            ).all()
        return [
            Record(
                r.id,
                "move",
                as_utc(r.created_at),
                r.audit_id,
                json.loads(unseal(key, r.payload, f"twin_move/{r.id}")),
                r.state_number,
            )
            for r in rows
        ]

    # -- erasure --------------------------------------------------------------------------
    def erase(self, principal: Principal, patient_key: str, audit: Mapping[str, Any]) -> str:
        """Destroy the patient's key, retire every twin of theirs; one ``patient.erase``
        record in the same transaction. Returns its id."""
        if not audit.get("reason"):
            raise InvalidInput("a reason is required", field="reason")
        with self._engine.begin() as conn:
            had_key = self._keys.destroy(conn, patient_key, principal.user)
            retired = conn.execute(
                update(_twin)
                .where(_twin.c.patient_key == patient_key, _twin.c.status == ACTIVE)
                .values(status=RETIRED)
            ).rowcount
            body = {**audit, "key_destroyed": had_key, "twins_retired": retired}
            return self._audit.append("patient.erase", body, conn=conn).record_id

    def digester(self, patient_key: str) -> Callable[[bytes], str] | None:
        """HMAC-SHA256 under the patient's data key, for the digests in the audit records
        of their twins' operations (None while the patient has no key: nothing of theirs
        is stored yet; :class:`PatientErased` once it is destroyed)."""
        with read_connection(self._engine) as conn:
            try:
                key = self._keys.data_key(conn, patient_key)
            except PatientErased:
                if self._keys.is_erased(conn, patient_key):
                    raise
                return None
        return partial(keyed_digest, key)

    def is_erased(self, patient_key: str, *, conn: Connection | None = None) -> bool:
        with reading(self._engine, conn) as tx:
            return self._keys.is_erased(tx, patient_key)
