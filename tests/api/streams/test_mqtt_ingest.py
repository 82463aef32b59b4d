"""Device readings over MQTT, for real: a Mosquitto of the test's own with a password per
device and the ACL a hospital applies, the ingester's persistent QoS 1 session with
manual acknowledgements, a clinician's binding through the API. Readings are stored once
(duplicates delivered again are not stored twice), in batches with one audit record
each; refused messages reach the dead-letter topic with the reason; a device can publish
only to its own topic."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from api.composition.settings import StreamSettings
from api.streams.mqtt import MqttTransport
from tests.api.helpers import prepare_patient
from tests.api.streams.brokers import (
    INGESTER,
    Device,
    Monitor,
    Mosquitto,
    wait_for,
)
from tests.api.streams.readings_helpers import cgm, payload, running
from tests.api.twin_course import TWIN_CATEGORIES, VANCO


def transport(broker: Mosquitto, client_id: str = "twinreg-ingester-test") -> MqttTransport:
    settings = StreamSettings(mqtt_url=broker.url, mqtt_username=INGESTER,
                              mqtt_password_file=broker.password_file(INGESTER),
                              mqtt_client_id=client_id)  # fmt: skip
    return MqttTransport(settings)


def bind(api: Any, device: str, patient: str = "p-1", twin: bool = False) -> str | None:
    prepare_patient(api, patient, TWIN_CATEGORIES)
    twin_id = None
    if twin:
        r = api.client.post(f"/v1/patients/{patient}/twins", headers=api.clinician,
                            json={"model": VANCO, "purpose": "treatment"})  # fmt: skip
        assert r.status_code == 201, r.text
        twin_id = r.json()["twin_id"]
    r = api.client.post(f"/v1/devices/{device}/binding", headers=api.clinician,
                        json={"patient_id": patient, "twin_id": twin_id})  # fmt: skip
    assert r.status_code == 201, r.text
    return twin_id


def stored(api: Any, source: str) -> list[str]:
    with api.service.engine.connect() as conn:
        rows = conn.execute(text("SELECT entry_id FROM twin_observation WHERE source = :s"),
                            {"s": source})  # fmt: skip
        return sorted(r[0] for r in rows)


def payloads(api: Any, action: str) -> list[dict[str, Any]]:
    with api.service.engine.connect() as conn:
        rows = conn.execute(text("SELECT body FROM audit_record WHERE action = :a ORDER BY seq"),
                            {"a": action})  # fmt: skip
        return [json.loads(r[0])["payload"] for r in rows]


def delivered(api: Any) -> int:
    """Readings the audit's ingest records account for (stored, or already stored)."""
    batches = payloads(api, "observation.ingest")
    return sum(len(p["stored"]) + len(p["already_stored"]) for p in batches)


def test_readings_are_stored_once_in_audited_batches(api: Any, mosquitto: Mosquitto) -> None:
    bind(api, "cgm-1", twin=True)
    mosquitto.add_user("cgm-1", "s1")
    device = Device(mosquitto, "cgm-1")
    with running(api.service, transport(mosquitto)):
        sent = [device.publish(payload(cgm(f"r{i}", 5 * i))) for i in range(40)]
        sent += [device.publish(payload(cgm(f"r{i}", 5 * i))) for i in range(10)]  # again
        sent.append(device.publish(payload([cgm("r40", 200), cgm("r41", 205)])))  # a list
        for info in sent:
            info.wait_for_publish(5)
        assert wait_for(lambda: len(stored(api, "device/cgm-1")) == 42)
        assert wait_for(lambda: delivered(api) >= 52)
    device.close()
    assert stored(api, "device/cgm-1") == sorted(f"r{i}" for i in range(42))
    batches = payloads(api, "observation.ingest")
    assert 1 <= len(batches) < 51  # batches, not one record per message
    for batch in batches:
        assert batch["via"] == "mqtt" and batch["device"] == "cgm-1" and batch["digest"]
        assert batch["principal"] == {"user": "cgm-1@device", "role": "device",
                                      "site": "st-mary"}  # fmt: skip
    assert sum(len(b["stored"]) for b in batches) == 42
    assert "p-1" not in json.dumps(batches)


def test_refused_messages_reach_the_dead_letter_topic_with_the_reason(
    api: Any, mosquitto: Mosquitto
) -> None:
    bind(api, "cgm-1", twin=True)
    for user in ("cgm-1", "cgm-2"):
        mosquitto.add_user(user, "s")
    monitor = Monitor(mosquitto)
    bound, unbound = Device(mosquitto, "cgm-1"), Device(mosquitto, "cgm-2")
    bad_unit = cgm("u1", 5)
    bad_unit["valueQuantity"] = {**bad_unit["valueQuantity"], "code": "g/L"}
    with running(api.service, transport(mosquitto)):
        for message in (b"{not json", payload(cgm("s1", 0, subject={"reference": "Patient/p-1"})),
                        payload(bad_unit), payload(cgm("ok", 10))):  # fmt: skip
            bound.publish(message).wait_for_publish(5)
        unbound.publish(payload(cgm("x1", 0))).wait_for_publish(5)
        assert wait_for(lambda: len(monitor.letters) >= 4)
        assert len(monitor.letters) == 4, [json.loads(x)["detail"] for x in monitor.letters]
        assert wait_for(lambda: stored(api, "device/cgm-1") == ["ok"])
    letters = {json.loads(x)["reason"]: json.loads(x) for x in monitor.letters}
    assert sorted(letters) == ["invalid", "malformed", "names_patient", "not_bound"]
    assert "'g/L' is unknown" in letters["invalid"]["detail"]
    assert "observations[0].unit" in letters["invalid"]["detail"]
    assert letters["not_bound"]["device"] == "cgm-2"
    assert letters["malformed"]["payload"] == "{not json"
    assert stored(api, "device/cgm-2") == []
    refused = [r for p in payloads(api, "device.readings.refused") for r in p["refused"]]
    assert sorted(r["reason"] for r in refused) == sorted(letters)
    assert all(len(r["message"]) == 64 for r in refused)  # a keyed digest, not the message
    for client in (monitor, bound, unbound):
        client.close()


def test_without_consent_readings_are_withheld_and_dead_lettered(
    api: Any, mosquitto: Mosquitto
) -> None:
    bind(api, "cgm-1", twin=True)
    (consent,) = api.client.get("/v1/patients/p-1/consents", headers=api.clinician).json()
    r = api.client.post(f"/v1/patients/p-1/consents/{consent['id']}/withdraw",
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 200, r.text
    mosquitto.add_user("cgm-1", "s")
    monitor, device = Monitor(mosquitto), Device(mosquitto, "cgm-1")
    with running(api.service, transport(mosquitto)):
        device.publish(payload(cgm("r1", 0))).wait_for_publish(5)
        assert wait_for(lambda: len(monitor.letters) == 1)
    (letter,) = [json.loads(x) for x in monitor.letters]
    assert letter["reason"] == "no_consent" and "labs" in letter["detail"] and letter["record"]
    (withheld,) = payloads(api, "observation.withheld")
    assert withheld["missing"] == ["labs"] and withheld["principal"]["role"] == "device"
    assert stored(api, "device/cgm-1") == []
    monitor.close()
    device.close()


def test_the_broker_keeps_each_device_to_its_own_topic(api: Any, mosquitto: Mosquitto) -> None:
    bind(api, "cgm-1", twin=True)
    bind(api, "cgm-2", patient="p-2", twin=True)
    for user in ("cgm-1", "cgm-2"):
        mosquitto.add_user(user, "s")
    intruder = Device(mosquitto, "cgm-2")
    wrong = Device(mosquitto, "cgm-1", password="not-its-password")
    assert intruder.connected and not wrong.connected
    with running(api.service, transport(mosquitto)):
        info = intruder.publish(payload(cgm("forged", 0)), topic="twinreg/devices/cgm-1/readings")
        info.wait_for_publish(5)

        def own_stored() -> bool:
            # sent again until stored (same id: stored once), in case the ingester's
            # subscription was not in place yet on a loaded machine
            intruder.publish(payload(cgm("own", 0))).wait_for_publish(5)
            return stored(api, "device/cgm-2") == ["own"]

        assert wait_for(own_stored)
    assert stored(api, "device/cgm-1") == []  # the broker dropped the forged reading
    assert info.rc == 0  # MQTT 5: Mosquitto acknowledges it and drops it
    intruder.close()
