"""The suites of ``twinreg bench``: name -> what it measures and how to run it. Each suite
module is imported only when its suite runs (numba kernels and the demo are slow to load).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Suite:
    #: What the suite prints, in a sentence (the CLI's help lists them).
    measures: str
    #: ``module:function``; the function takes no argument, or the home's service and the
    #: rounds when ``needs_home``.
    runner: str
    needs_home: bool = False
    #: The suite runs the demo: without the demo's data sets it says what to install
    #: before anything (a home included) is created.
    needs_demo_data: bool = False
    #: The function takes a number of virtual patients (``twinreg bench --patients``).
    sized: bool = False

    def run(self, service: Callable[[], Any], rounds: int, patients: int | None = None) -> None:
        if self.needs_demo_data:
            from models.datasets import require_demo_data

            require_demo_data()
        module, name = self.runner.split(":")
        function = getattr(importlib.import_module(module), name)
        if self.needs_home:
            function(service(), rounds)
        elif self.sized and patients is not None:
            function(n_patients=patients)
        else:
            function()


SUITES: dict[str, Suite] = {
    "governed": Suite(
        "bare vs governed explained prediction, in-process and over HTTP, plus a bounded "
        "load test with 1 and 2 workers",
        "api.cli.bench:run_bench",
        needs_home=True,
        needs_demo_data=True,
    ),
    "mechanistic": Suite(
        "numba kernels vs solve_ivp, batch threads, explanation vs kernel work, cold start",
        "api.cli.bench_mechanistic:run_mechanistic_bench",
    ),
    "reports": Suite(
        "the ethics-board report over 100,000 audit records, next to the chain verification "
        "it includes",
        "api.cli.bench_reports:run_reports_bench",
    ),
    "dosing": Suite(
        "the vancomycin twin's recovery on 1,000 virtual patients, calibration vs plain "
        "scipy, the recommendation grid, a forecast with its explanation",
        "api.cli.bench_dosing:run_dosing_bench",
    ),
    "glucose": Suite(
        "the glucose twin's recovery on 30 virtual patients x 3 days of CGM, a 14-day "
        "calibration, a forecast",
        "api.cli.bench_glucose:run_glucose_bench",
    ),
    "windkessel": Suite(
        "recovery of the blood-pressure twin's R_p and C from 1, 4 and 12 cuff readings, its "
        "fit and forecast",
        "api.cli.bench_windkessel:run_windkessel_bench",
    ),
    "radiotherapy": Suite(
        "the tumour twin's recovery of virtual patients from its prior, its calibration vs "
        "plain scipy, a forecast",
        "api.cli.bench_radiotherapy:run_radiotherapy_bench",
    ),
    "cds": Suite(
        "the CDS Hooks risk and dosing cards over HTTP (a signed EHR JWT each), next to the "
        "same service calls",
        "api.cli.bench_cds:run_cds_bench",
        needs_home=True,
        needs_demo_data=True,
    ),
    "streams": Suite(
        "device readings stored per second by one `twinreg ingest` (MQTT, NATS JetStream) "
        "next to in-process ingestion, reading-to-stored p50/p99, reading-to-recalibrated "
        "state (needs mosquitto installed and NATS reachable)",
        "api.cli.bench_streams:run_streams_bench",
    ),
    "trials": Suite(
        "an in-silico trial of 1,000,000 virtual vancomycin patients x 2 arms (72 h): numba "
        "prange without Ray, Ray with 2 workers and with 1, side by side (--patients for "
        "fewer)",
        "api.cli.bench_trials:run_trials_bench",
        sized=True,
    ),
}
