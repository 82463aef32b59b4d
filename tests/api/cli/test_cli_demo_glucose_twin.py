"""The demo's glucose patient twin: what it prints, in words with units, and what it
stored (three days of CGM, one converged state, one forecast)."""

from __future__ import annotations

import io
import re

from rich.console import Console

from api.cli.demo import CLINICIAN
from api.cli.demo_glucose_twin import PATIENT, run_glucose_twin_demo
from api.composition.service import TwinregService


def test_the_glucose_demo_prints_estimates_forecast_explanation_and_influence(
    service: TwinregService,
) -> None:
    out = io.StringIO()
    run_glucose_twin_demo(service, CLINICIAN, Console(file=out, width=250, color_system=None))
    text = out.getvalue()
    assert "865 CGM readings every 5 min over 3 days, 9 meals with boluses" in text
    for name, unit in (("Vmx", "mg/kg/min per pmol/L"), ("kp3", "mg/kg/min per pmol/L"),
                       ("kabs", "1/min")):  # fmt: skip
        line = re.search(
            rf"  {name} ([\d.e-]+) {re.escape(unit)} \(90% ([\d.e-]+)-([\d.e-]+); prior median "
            rf"([\d.e-]+), shrinkage (0\.\d\d); the virtual patient's true value ([\d.e-]+)\)",
            text,
        )
        assert line is not None, (name, text)
        value, low, high = (float(line.group(i)) for i in (1, 2, 3))
        assert low < value < high
    tir = re.search(r"time in range 70-180 mg/dL (\d+)% \(90%: (\d+)-(\d+)%\)", text)
    assert tir is not None, text
    assert int(tir.group(2)) <= int(tir.group(1)) <= int(tir.group(3))
    shapley = (
        r"mean glucose against the cohort's median person \(\d+ mg/dL -> \d+ mg/dL\): "
        r"eta_Vmx [+-][\d.]+ mg/dL, eta_kp3 [+-][\d.]+ mg/dL, eta_kabs [+-][\d.]+ mg/dL"
    )
    assert re.search(shapley, text), text
    assert re.search(r"the day of CGM that moved the estimate most: day [123] ", text), text
    key = service.twins.patient(CLINICIAN, PATIENT, "read", None)
    (twin,) = service.twins.bank.twins(key)
    _, thread, _ = service.twins.thread(CLINICIAN, PATIENT, twin.id, None)
    kinds = [r.kind for r in thread]
    assert kinds.count("glucose_cgm") == 865 and kinds[-2:] == ["state", "forecast"]
