"""A device-fed twin is recalibrated when policies/recalibration.toml says (vancomycin:
every reading), through the release gate as the device's principal, audited; its new
state uses the device's reading. A twin whose kind has no rule is never recalibrated."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.api.streams.brokers import Device, Mosquitto, wait_for
from tests.api.streams.readings_helpers import level, payload, running
from tests.api.streams.test_mqtt_ingest import bind, payloads, transport
from tests.api.twin_course import COVARIATES, DOSES, LEVELS

P = "/v1/patients/p-1"


def states(api: Any, twin: str) -> list[dict[str, Any]]:
    r = api.client.get(f"{P}/twins/{twin}/thread", headers=api.clinician)
    assert r.status_code == 200, r.text
    return [rec for rec in r.json()["records"] if rec["kind"] == "state"]


def device_row(api: Any, reading: str) -> str:
    with api.service.engine.connect() as conn:
        return str(conn.execute(text("SELECT id FROM twin_observation WHERE entry_id = :e"),
                                {"e": reading}).scalar_one())  # fmt: skip


def test_a_reading_recalibrates_the_bound_twin_as_its_policy_says(
    api: Any, mosquitto: Mosquitto
) -> None:
    twin = bind(api, "vanco-1", twin=True)
    assert twin is not None
    r = api.client.post(f"{P}/observations", headers=api.clinician,
                        json={"observations": COVARIATES + DOSES + LEVELS[:1]})  # fmt: skip
    assert r.status_code == 201, r.text
    mosquitto.add_user("vanco-1", "s")
    device = Device(mosquitto, "vanco-1")
    with running(api.service, transport(mosquitto), recalibrate=True):
        # what waited before the ingester started is swept up first
        assert wait_for(lambda: len(states(api, twin)) == 1, seconds=60)
        device.publish(payload(level("lab-77", "2026-03-02T19:30:00Z", 12.0))).wait_for_publish(5)
        assert wait_for(lambda: len(states(api, twin)) == 2, seconds=60)
    device.close()
    last = states(api, twin)[-1]
    assert last["status"] == "converged"
    assert device_row(api, "lab-77") in last["body"]["observation_ids"]
    calibrations = payloads(api, "twin.calibration")
    assert [c["principal"]["role"] for c in calibrations] == ["device", "device"]
    assert all(c["principal"]["user"] == "vanco-1@device" for c in calibrations)


def test_a_kind_without_a_rule_is_not_recalibrated(api: Any, mosquitto: Mosquitto) -> None:
    (api.service.settings.policies_dir / "recalibration.toml").write_text("")
    twin = bind(api, "vanco-1", twin=True)
    assert twin is not None
    mosquitto.add_user("vanco-1", "s")
    device = Device(mosquitto, "vanco-1")
    r = api.client.post(f"{P}/observations", headers=api.clinician,
                        json={"observations": COVARIATES + DOSES + LEVELS[:1]})  # fmt: skip
    assert r.status_code == 201, r.text
    with running(api.service, transport(mosquitto), recalibrate=True) as ingester:

        def level_stored() -> bool:  # sent again until stored (same id: stored once)
            reading = payload(level("lab-77", "2026-03-02T19:30:00Z", 12.0))
            device.publish(reading).wait_for_publish(5)
            return bool(payloads(api, "observation.ingest")[1:])

        assert wait_for(level_stored)
        recalibrator = ingester.recalibrator
        assert recalibrator is not None
        assert wait_for(lambda: recalibrator.checked >= 1)  # it looked, and found no rule
    device.close()
    assert states(api, twin) == [] and payloads(api, "twin.calibration") == []
