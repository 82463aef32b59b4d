"""Device bindings: a clinician binds a device to a patient of their site (and optionally
to one of the patient's twins, which its readings then recalibrate), and unbinds it. A
device has at most one active binding. Each change commits with its audit record
(``device.bound``, ``device.unbound``). The patient's id is kept sealed under their key
(the ingester names the patient to the service by it); an erased patient's bindings
cannot be opened (:class:`~governance.errors.PatientErased`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from governance.audit.chain import AuditLog
from governance.clock import as_utc, utcnow
from governance.errors import Conflict, InvalidInput, NotFound, PatientErased
from governance.identity.principal import Principal
from governance.store.db import read_connection
from governance.store.device_records import DeviceBinding
from governance.twins.keys import PatientKeys, seal, unseal

_binding = DeviceBinding.__table__  # type: ignore[attr-defined]
#: A device id: also its broker user name and a topic level / subject token, so none of
#: MQTT's or NATS's separators and wildcards (/ + # . * >), no upper case, no spaces.
DEVICE_ID_PATTERN = r"[a-z0-9][a-z0-9_-]{0,47}"
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)


def device_id(value: object, field: str = "device_id") -> str:
    """``value`` if it is a device id, else :class:`InvalidInput` saying what one is."""
    if not isinstance(value, str) or not _DEVICE_ID.fullmatch(value):
        raise InvalidInput(
            f"{field}: a device id is 1 to 48 characters of a-z, 0-9, _ and -, beginning "
            "with a letter or a digit (it is also the device's broker user name)",
            field=field,
        )
    return value


@dataclass(frozen=True)
class Binding:
    id: str
    device_id: str
    site: str
    patient_key: str
    twin_id: str | None
    bound_by: str
    bound_at: datetime
    audit_id: str
    unbound_by: str | None = None
    unbound_at: datetime | None = None
    unbound_audit_id: str | None = None


@dataclass(frozen=True)
class ActiveBinding:
    """An active binding opened for the ingester: with the patient's id at the site."""

    binding: Binding
    patient_id: str


def _view(row: Any) -> Binding:
    return Binding(
        row.id, row.device_id, row.site, row.patient_key, row.twin_id, row.bound_by,
        as_utc(row.bound_at), row.audit_id, row.unbound_by,
        as_utc(row.unbound_at) if row.unbound_at is not None else None, row.unbound_audit_id,
    )  # fmt: skip


def _bound(device: str) -> Conflict:
    return Conflict(
        f"device {device} is bound to a patient already; unbind it first "
        f"(DELETE /v1/devices/{device}/binding by a clinician of its site)"
    )


class DeviceBindings:
    def __init__(self, engine: Engine, audit: AuditLog, keys: PatientKeys) -> None:
        self._engine = engine
        self._audit = audit
        self._keys = keys

    def bind(
        self,
        principal: Principal,
        device: str,
        site: str,
        patient: tuple[str, str],
        twin_id: str | None,
        audit: Mapping[str, Any],
    ) -> Binding:
        """Bind ``device`` to ``patient`` (its stored key, its id at ``site``); the
        ``device.bound`` record (``audit`` with the device, site and twin) in the same
        transaction. A device bound already: :class:`Conflict`."""
        patient_key, patient_id = patient
        row_id = str(uuid.uuid4())
        body = {**audit, "device": device, "site": site, "patient": patient_key,
                "twin": twin_id, "binding": row_id}  # fmt: skip
        try:
            with self._engine.begin() as conn:
                if conn.execute(select(_binding.c.id).where(
                    _binding.c.device_id == device, _binding.c.active == 1
                )).first() is not None:  # fmt: skip
                    raise _bound(device)
                key = self._keys.data_key(conn, patient_key, create=True)
                audit_id = self._audit.append("device.bound", body, conn=conn).record_id
                conn.execute(insert(_binding).values(
                    id=row_id, device_id=device, site=site, patient_key=patient_key,
                    patient_ref=seal(key, patient_id.encode("utf-8"), f"device_binding/{row_id}"),
                    twin_id=twin_id, active=1, bound_by=principal.user, bound_at=utcnow(),
                    audit_id=audit_id,
                ))  # fmt: skip
        except IntegrityError as exc:  # bound meanwhile by another request
            raise _bound(device) from exc
        return self.current(device, site)

    def unbind(
        self, principal: Principal, device: str, site: str, audit: Mapping[str, Any]
    ) -> Binding:
        """End the active binding of ``device`` at ``site`` (none there: :class:`NotFound`),
        with its ``device.unbound`` record."""
        current = self.current(device, site)
        body = {**audit, "device": device, "site": site, "patient": current.patient_key,
                "twin": current.twin_id, "binding": current.id}  # fmt: skip
        with self._engine.begin() as conn:
            audit_id = self._audit.append("device.unbound", body, conn=conn).record_id
            changed = conn.execute(
                update(_binding)
                .where(_binding.c.id == current.id, _binding.c.active == 1)
                .values(
                    active=None,
                    unbound_by=principal.user,
                    unbound_at=utcnow(),
                    unbound_audit_id=audit_id,
                )
            ).rowcount
            if not changed:
                raise NotFound(f"device {device} was unbound meanwhile")
            row = conn.execute(select(_binding).where(_binding.c.id == current.id)).one()
        return _view(row)

    def current(self, device: str, site: str) -> Binding:
        """The active binding of ``device`` at ``site`` (a device bound at another site is
        not found, like one bound nowhere)."""
        with read_connection(self._engine) as conn:
            row = conn.execute(
                select(_binding).where(
                    _binding.c.device_id == device, _binding.c.active == 1, _binding.c.site == site
                )
            ).one_or_none()
        if row is None:
            raise NotFound(f"device {device} is not bound to a patient of site {site!r}")
        return _view(row)

    def active(self, devices: Collection[str]) -> dict[str, ActiveBinding | PatientErased]:
        """The active binding of each of ``devices`` that has one, opened; an erased
        patient's binding as the :class:`PatientErased` it raises (one query)."""
        if not devices:
            return {}
        out: dict[str, ActiveBinding | PatientErased] = {}
        with read_connection(self._engine) as conn:
            rows = conn.execute(
                select(_binding).where(
                    _binding.c.device_id.in_(sorted(set(devices))), _binding.c.active == 1
                )
            ).all()
            keys: dict[str, bytes | PatientErased] = {}
            for row in rows:
                if row.patient_key not in keys:
                    try:
                        keys[row.patient_key] = self._keys.data_key(conn, row.patient_key)
                    except PatientErased as exc:
                        keys[row.patient_key] = exc
                key = keys[row.patient_key]
                if isinstance(key, PatientErased):
                    out[row.device_id] = key
                    continue
                patient_id = unseal(key, row.patient_ref, f"device_binding/{row.id}")
                out[row.device_id] = ActiveBinding(_view(row), patient_id.decode("utf-8"))
        return out

    def bound_twins(self) -> list[Binding]:
        """Every active binding to a twin (the ingester's recalibration sweep)."""
        with read_connection(self._engine) as conn:
            rows = conn.execute(
                select(_binding).where(_binding.c.active == 1, _binding.c.twin_id.is_not(None))
            ).all()
        return [_view(r) for r in rows]


def check_twin_id(value: object) -> str | None:
    """An optional twin id as the routes take it (a UUID), else :class:`InvalidInput`."""
    if value is None:
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise InvalidInput("twin_id must be a twin's id (a UUID)", field="twin_id") from exc
