"""``twinreg demo-clinic`` (issue 15): a FHIR Bundle, a twin calibrated from it, a CGM's day
of readings on MQTT recalibrating a glucose twin, and the CDS cards, over HTTP on a real
server; what it prints says what each step did.

The broker is a Mosquitto of the test's own, anonymous as the machine's is configured (the
demo publishes as the device without credentials): required in CI, skipped elsewhere with
a line saying why when Mosquitto is not installed. Without a reachable broker the demo
skips its CGM step with one line saying why."""

from __future__ import annotations

import dataclasses
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import text

from api.cli.demo_clinic import FHIR_PATIENT, run_clinic_demo
from api.cli.demo_clinic_cgm import DEVICE, READINGS, run_cgm_day
from api.cli.stream_rig import MOSQUITTO, OwnMosquitto, free_port
from api.composition.service import TwinregService
from api.composition.settings import Settings
from tests.api.streams.brokers import unavailable


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[OwnMosquitto]:
    if not os.access(MOSQUITTO, os.X_OK):
        unavailable(f"mosquitto is not installed ({MOSQUITTO})")
    own = OwnMosquitto(tmp_path / "mosquitto")
    own.folder.mkdir()
    own.start()
    yield own
    own.stop()


def with_broker(settings: Settings, url: str) -> TwinregService:
    streams = dataclasses.replace(settings.streams, mqtt_url=url)
    return TwinregService(dataclasses.replace(settings, streams=streams))


def test_the_clinic_demo_posts_a_bundle_streams_a_cgm_day_and_shows_the_cards(
    settings: Settings, broker: OwnMosquitto
) -> None:
    service = with_broker(settings, broker.url)
    out = io.StringIO()
    try:
        status = run_clinic_demo(service, Console(file=out, width=200, color_system=None))
        text_out = out.getvalue()
        assert status == 0, text_out
        assert "POST /fhir: a transaction-response Bundle of 12 entries" in text_out
        assert "MedicationAdministration: 4 x 201 Created" in text_out
        assert re.search(rf"the twin of {FHIR_PATIENT} learnt from what the EHR sent: "
                         r"clearance \d+\.\d\d L/h", text_out), text_out  # fmt: skip
        # the CGM's day: published, stored, the glucose twin recalibrated, said with units
        assert f"{DEVICE} published {READINGS} readings" in text_out, text_out
        assert f"the ingester stored {READINGS} of them under consent (0 dead-lettered)" in text_out
        assert re.search(r"calibrated \(state \d+, .*\):", text_out), text_out
        assert re.search(r"  Vmx \S+ mg/kg/min per pmol/L \(90% ", text_out), text_out
        assert re.search(r"  kabs \S+ 1/min", text_out), text_out
        with service.engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM twin_observation WHERE source = "
                                       f"'device/{DEVICE}'")).scalar_one()  # fmt: skip
        assert stored == READINGS
        assert "discovery: risk (patient-view), vancomycin-dosing (order-select)" in text_out
        assert re.search(r"whas500-mortality v\d+: \d+%", text_out), text_out
        assert re.search(r"Vancomycin \d+ mg every \d+ h: \d+% probability of AUC24 400-600",
                         text_out)  # fmt: skip
        assert "suggestion: Replace the draft order" in text_out
        assert "feedback 'accepted' on the dosing card: 200" in text_out
    finally:
        service.engine.dispose()


def test_without_a_broker_the_cgm_step_is_skipped_in_one_line(settings: Settings) -> None:
    service = with_broker(settings, f"mqtt://127.0.0.1:{free_port()}")  # nobody listens
    out = io.StringIO()
    try:
        said = run_cgm_day(service, None, "st-mary", Console(file=out, width=300))  # type: ignore[arg-type]
    finally:
        service.engine.dispose()
    lines = out.getvalue().strip().splitlines()
    assert said is None
    assert len(lines) == 1 and lines[0].startswith("skipped: the CGM's day on MQTT needs a broker")
    assert "unreachable" in lines[0], lines
