"""Warm-up: compile every mechanistic kernel, or load it from numba's on-disk cache.

Numba compiles a kernel on its first call (about 0.5-15 s each; the parallel batch
entry points take longest), or loads it from the ``cache=True`` files in ``__pycache__``
(milliseconds) when a previous process compiled the same signature. Call :func:`warm_up`
once at application start-up so that no request pays for it. It drives each twin through
its public entry points with one typical row, so exactly the signatures a request uses
(C-contiguous float64 arrays, int64 counts) are compiled.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from models.mechanistic.glucose import GlucoseSchedule, GlucoseT1DTwin, simulate_glucose
from models.mechanistic.pk import VancomycinTwin
from models.mechanistic.radiotherapy import RadiotherapyTwin, simulate_tumour, weekday_schedule
from models.mechanistic.windkessel import WindkesselTwin


def _twin(model: object, row: list[float]) -> Callable[[], None]:
    def run() -> None:
        x = np.array([row], dtype=np.float64)
        model.predict_all(x)  # type: ignore[attr-defined]
        model.trajectory(x[0])  # type: ignore[attr-defined]

    return run


def _single_patient_runs() -> None:
    simulate_tumour([0.01, 500.0, 0.1, 0.01], 10.0, weekday_schedule(2), [2.0, 2.0], [0.0, 3.0])
    schedule = GlucoseSchedule.from_arrays([0.0, 60.0, 60.0], [2, 0, 1], [1.0, 30.0, 3.0])
    simulate_glucose(11, schedule, [0.0, 120.0])


#: One typical row per twin (inputs in the twin's column order).
_CASES: tuple[tuple[str, Callable[[], None]], ...] = (
    ("pk_vancomycin", _twin(VancomycinTwin(), [90.0, 75.0, 1000.0, 12.0])),
    ("windkessel", _twin(WindkesselTwin(), [72.0, 70.0, 1.0, 1.5])),
    ("radiotherapy", _twin(RadiotherapyTwin(), [30.0, 70.0, 0.05, 10.0, 60.0, 30.0])),
    ("glucose_t1d", _twin(GlucoseT1DTwin(), [11.0, 60.0, 6.0, 1.2])),
    ("single-patient entry points", _single_patient_runs),
)


def warm_up() -> dict[str, float]:
    """Compile or cache-load every kernel; returns the seconds each twin took."""
    seconds: dict[str, float] = {}
    for name, run in _CASES:
        start = time.perf_counter()
        run()
        seconds[name] = time.perf_counter() - start
    return seconds
