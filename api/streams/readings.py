"""One message from a device: its readings, checked, in the observation schema.

A message's payload is UTF-8 JSON: one reading, or a list of at most
:data:`MAX_READINGS`, each a FHIR Observation (:mod:`api.streams.fhir_observation`) or an
entry of the patient-twins observation schema (:mod:`governance.twins.entries`). The
device is the one its topic names (the broker's ACL ties the topic to the device's
credentials): its readings' ``source`` is ``device/<id>`` (an entry naming another source
is refused). A reading that names a patient is refused: the binding names the patient.
Every fault is :class:`~api.streams.errors.Refused` with its reason and what to fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.streams.errors import Refused
from api.streams.fhir_observation import observation_entry
from governance.errors import InvalidInput
from governance.policy.observation_kinds import ObservationKind
from governance.twins.entries import Entry, check_entry

MAX_READINGS = 100
MAX_PAYLOAD_BYTES = 256 * 1024
#: Fields by which a message would name a patient (FHIR's subject, or ours).
PATIENT_FIELDS = frozenset({"subject", "patient", "patient_id", "patientId"})


def device_source(device: str) -> str:
    """The ``source`` of a device's readings (with the patient and id: the idempotency key)."""
    return f"device/{device}"


def _items(payload: bytes) -> list[object]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Refused("malformed", f"the message is over {MAX_PAYLOAD_BYTES} bytes")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused("malformed", f"the message is not UTF-8 JSON: {exc}") from exc
    items = data if isinstance(data, list) else [data]
    if not 1 <= len(items) <= MAX_READINGS:
        raise Refused("malformed", f"send 1 to {MAX_READINGS} readings in one message")
    return items


def _entry(item: object, source: str, kinds: Mapping[str, ObservationKind]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise Refused("malformed", "each reading must be a JSON object")
    named = sorted(PATIENT_FIELDS & set(item))
    if named:
        raise Refused(
            "names_patient",
            f"a reading must not name a patient ({named[0]!r}): the device's binding does",
        )
    if "resourceType" in item:
        if item["resourceType"] != "Observation":
            raise Refused("malformed", "only FHIR Observation resources are readings")
        return observation_entry(item, source, kinds)
    if item.get("source", source) != source:
        raise InvalidInput(
            f"source: a device's readings are from {source!r} (omit it)", field="source"
        )
    return {**item, "source": source}


@dataclass(frozen=True)
class Reading:
    """A checked reading: ``raw`` in the observation schema (what the service is given),
    ``entry`` as checked (its key and content)."""

    raw: dict[str, Any]
    entry: Entry


def readings(device: str, payload: bytes, kinds: Mapping[str, ObservationKind]) -> list[Reading]:
    """The readings of one message from ``device``, each checked against the kind table."""
    source = device_source(device)
    out: list[Reading] = []
    for index, item in enumerate(_items(payload)):
        try:
            raw = _entry(item, source, kinds)
            entry, _ = check_entry(index, raw, kinds)
        except InvalidInput as exc:
            raise Refused("invalid", f"reading {index}: {exc}") from exc
        out.append(Reading(raw, entry))
    return out
