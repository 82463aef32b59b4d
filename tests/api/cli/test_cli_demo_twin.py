"""The demo's vancomycin patient twin (issue 14): what it prints, in words with units."""

from __future__ import annotations

import io
import re

from rich.console import Console

from api.cli.demo import CLINICIAN
from api.cli.demo_twin import PATIENT, run_twin_demo
from api.composition.service import TwinregService


def test_the_demo_twin_prints_estimate_regimens_explanation_and_thread(
    service: TwinregService,
) -> None:
    out = io.StringIO()
    run_twin_demo(service, CLINICIAN, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    estimate = re.search(
        r"clearance (\d+\.\d\d) L/h, 90% posterior interval (\d+\.\d\d)-(\d+\.\d\d) L/h, "
        r"shrinkage of eta_CL (\d+)%",
        text,
    )
    assert estimate is not None, text
    cl, low, high = (float(estimate.group(i)) for i in (1, 2, 3))
    assert low < cl < high and 0 < int(estimate.group(4)) < 100
    assert "top 3 regimens by probability of AUC24 400-600 mg·h/L" in text
    rows = re.findall(r"(\d+) mg q(\d+)h over ([\d.]+) h .*? (\d+)%", text)
    assert len(rows) >= 3, text
    attainment = [int(r[3]) for r in rows[:3]]
    assert attainment == sorted(attainment, reverse=True)
    assert "first dose of the top regimen: 2026-03-03T08:00:00+00:00 (UTC)" in text
    assert re.search(r"forecast of the top regimen: AUC24 \d+ mg·h/L \(90% \d+-\d+\)", text)
    contributions = re.findall(r"^\s+(creatinine_clearance|weight|eta_\w+): [+-]\d+ mg·h/L$",
                               text, re.MULTILINE)  # fmt: skip
    assert len(contributions) == 3, text
    assert re.search(r"level '(peak|trough)' moved the clearance estimate by [+-]\d", text)
    assert "the thread: 13 items, in order" in text
    for item in (
        "vancomycin dose 1200 mg over 1 h from 2026-03-01T08:00:00+00:00",
        "vancomycin level 31 mg/L at 2026-03-02T22:00:00+00:00",
        "serum creatinine 1.1 mg/dL", "weight 80 kg", "age 58 a", "sex male",
        "calibration state 1: converged, clearance",
        "recommendation from state 1:", "forecast from state 1: AUC24",
    ):  # fmt: skip
        assert item in text, item
    key = service.twins.patient(CLINICIAN, PATIENT, "read", None)
    (twin,) = service.twins.bank.twins(key)
    _, thread, _ = service.twins.thread(CLINICIAN, PATIENT, twin.id, None)
    assert [r.kind for r in thread][-3:] == ["state", "recommendation", "forecast"]
