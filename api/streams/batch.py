"""A batch of device messages to service calls: the readings of each patient (through
the device's active binding) stored by :meth:`~api.composition.twins.TwinService.ingest`
in one transaction with one ``observation.ingest`` record (its digest covers the batch);
a message refused for what it is (malformed, names a patient, unbound device, erased
patient, no consent, a unit or value the kind table refuses, an id reused with other
content) is refused alone, with one ``device.readings.refused`` record per batch. When a
patient's batch is refused whole, its messages are tried one by one so the others are
stored. A store that fails is no message's fault: those messages are retried, never
refused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from api.composition.devices import device_principal
from api.composition.service import TwinregService
from api.streams.delivery import Delivery, Outcome
from api.streams.errors import Refused
from api.streams.readings import Reading, readings
from governance.devices.bindings import ActiveBinding, device_id
from governance.errors import (
    AuditWriteError,
    Conflict,
    Forbidden,
    GovernanceError,
    InvalidInput,
    NotFound,
    PatientErased,
    StoreUnavailable,
)

_log = logging.getLogger("twinreg.ingest")
#: Most readings one ingest call takes (governance.twins.entries.MAX_OBSERVATIONS).
MAX_PER_CALL = 500
_Group = list[tuple[Delivery, list[Reading]]]


def _reason(exc: GovernanceError) -> str:
    for kind, reason in ((PatientErased, "patient_erased"), (Forbidden, "no_consent"),
                         (Conflict, "conflict"), (InvalidInput, "invalid"),
                         (NotFound, "not_found")):  # fmt: skip
        if isinstance(exc, kind):
            return reason
    return "refused"


class BatchIngester:
    def __init__(self, service: TwinregService, transport: str) -> None:
        self._service = service
        self._transport = transport

    def process(self, deliveries: Sequence[Delivery]) -> Outcome:
        outcome = Outcome()
        parsed: list[tuple[Delivery, list[Reading]]] = []
        kinds = self._service.policies.current().observation_kinds
        for d in deliveries:
            try:
                device_id(d.device, "topic")
                parsed.append((d, readings(d.device, d.payload, kinds)))
            except (Refused, InvalidInput) as exc:
                outcome.refused.append((d, _refused(exc)))
        groups = self._by_binding(parsed, outcome)
        for active, group in groups.values():
            for chunk in _chunks(group):
                self._store(active, chunk, outcome)
        self._audit_refusals(outcome)
        return outcome

    def _by_binding(
        self, parsed: list[tuple[Delivery, list[Reading]]], outcome: Outcome
    ) -> dict[str, tuple[ActiveBinding, _Group]]:
        bindings = self._service.devices.active({d.device for d, _ in parsed})
        groups: dict[str, tuple[ActiveBinding, _Group]] = {}
        for d, found in parsed:
            active = bindings.get(d.device)
            if active is None:
                outcome.refused.append(
                    (
                        d,
                        Refused(
                            "not_bound",
                            f"device {d.device} is not bound to a patient: a clinician binds it",
                        ),
                    )
                )
            elif isinstance(active, PatientErased):
                outcome.refused.append((d, Refused("patient_erased", str(active))))
            else:
                groups.setdefault(active.binding.id, (active, []))[1].append((d, found))
        return groups

    def _store(self, active: ActiveBinding, group: _Group, outcome: Outcome) -> None:
        """One call for the group; refused whole, then message by message."""
        try:
            self._ingest(active, group)
        except (StoreUnavailable, AuditWriteError, SQLAlchemyError) as exc:
            _log.warning("store unavailable, %d messages kept for a retry: %s", len(group), exc)
            outcome.retry.extend(d for d, _ in group)
            return
        except GovernanceError as exc:
            if len(group) == 1:
                outcome.refused.append((group[0][0], Refused(_reason(exc), str(exc),
                                                             exc.audit_id)))  # fmt: skip
                return
            for one in group:
                self._store(active, [one], outcome)
            return
        outcome.stored.extend(d for d, _ in group)
        outcome.readings += sum(len(r) for _, r in group)
        outcome.fed[active.binding.id] = active

    def _ingest(self, active: ActiveBinding, group: _Group) -> None:
        binding = active.binding
        raw = [r.raw for _, found in group for r in found]
        context = {"via": self._transport, "device": binding.device_id,
                   "binding": binding.id, "messages": len(group)}  # fmt: skip
        self._service.twins.ingest(
            device_principal(binding), active.patient_id, raw, None, binding.site, context
        )

    def _audit_refusals(self, outcome: Outcome) -> None:
        """One record for the batch's refusals: device, reason, the keyed digest of the
        message, the record of the service's own refusal (never the message)."""
        if not outcome.refused:
            return
        digest = self._service.pseudonymiser.digest
        refused: list[dict[str, Any]] = [
            {"device": d.device[:64], "reason": r.reason, "message": digest(d.payload),
             "record": r.audit_id}
            for d, r in outcome.refused
        ]  # fmt: skip
        body = {"via": self._transport, "refused": refused,
                "policy_version": self._service.policies.current().version}  # fmt: skip
        self._service.audit.append("device.readings.refused", body)


def _refused(exc: Refused | InvalidInput) -> Refused:
    return exc if isinstance(exc, Refused) else Refused("bad_device", str(exc))


def _chunks(group: _Group) -> list[_Group]:
    """``group`` cut in runs of at most :data:`MAX_PER_CALL` readings (a message whole),
    a key repeated with other content starting a new run (the service refuses a call
    whose keys disagree: each run is judged on its own)."""
    runs: list[_Group] = [[]]
    count = 0
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for d, found in group:
        clash = any(seen.get((r.entry.source, r.entry.id), r.entry.content()) != r.entry.content()
                    for r in found)  # fmt: skip
        if runs[-1] and (clash or count + len(found) > MAX_PER_CALL):
            runs.append([])
            count, seen = 0, {}
        runs[-1].append((d, found))
        count += len(found)
        seen.update({(r.entry.source, r.entry.id): r.entry.content() for r in found})
    return [run for run in runs if run]
