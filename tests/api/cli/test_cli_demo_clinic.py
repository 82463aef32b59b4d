"""``twinreg demo-clinic`` (issue 15): a FHIR Bundle, a twin calibrated from it and the CDS
cards, over HTTP on a real server; what it prints says what each step did."""

from __future__ import annotations

import io
import re

from rich.console import Console

from api.cli.demo_clinic import FHIR_PATIENT, run_clinic_demo
from api.composition.service import TwinregService


def test_the_clinic_demo_posts_a_bundle_calibrates_and_shows_the_cards(
    service: TwinregService,
) -> None:
    out = io.StringIO()
    status = run_clinic_demo(service, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert status == 0, text
    assert "POST /fhir: a transaction-response Bundle of 12 entries" in text
    assert "MedicationAdministration: 4 x 201 Created" in text
    assert re.search(rf"the twin of {FHIR_PATIENT} learnt from what the EHR sent: clearance "
                     r"\d+\.\d\d L/h", text), text  # fmt: skip
    assert "discovery: risk (patient-view), vancomycin-dosing (order-select)" in text
    assert re.search(r"whas500-mortality v\d+: \d+%", text), text
    assert re.search(r"Vancomycin \d+ mg every \d+ h: \d+% probability of AUC24 400-600", text)
    assert "suggestion: Replace the draft order" in text
    assert "feedback 'accepted' on the dosing card: 200" in text
