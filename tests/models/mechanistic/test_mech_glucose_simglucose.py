"""The glucose twin against simglucose 0.2.11's ``T1DPatient``, all 30 virtual patients.

The same real day for both: basal changes, meals at odd minutes (one while another is
still being eaten, one not a multiple of 5 g), boluses at and away from meals, two in the
same minute. simglucose is stepped per minute (its own dopri5 between minutes) with the
meal announced at its minute and the insulin rate (U/min) of that minute; the twin runs
the schedule through ``simulate_glucose``. Plasma glucose (``Gp / Vg``) and subcutaneous
glucose (``Gsub``, the sensor compartment) agree within 1% of ``max(BG, 40 mg/dL)`` at
every minute of 24 h.

simglucose reads its parameters from a pandas Series on every right-hand-side call (about
10 s per patient-day); the test hands the same values to the same code as a plain
namespace (0.7 s), which changes no number.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

simglucose = pytest.importorskip("simglucose.patient.t1dpatient")

from models.mechanistic.glucose import GlucoseSchedule, simulate_glucose, virtual_cohort  # noqa: E402
from models.mechanistic.glucose_events import BASAL_RATE, BOLUS, MEAL  # noqa: E402
from models.mechanistic.glucose_kernels import GP, GS, VG  # noqa: E402

MINUTES = 24 * 60
TOLERANCE = 0.01
FLOOR_MG_DL = 40.0


def _day(subject: int) -> list[tuple[int, int, float]]:
    """(minute, kind, value): the subject's basal, 10% less overnight, meals with
    carb-ratio boluses; lunch's second course 6 min into lunch; a correction bolus given
    twice in one minute; a late snack without bolus."""
    cohort = virtual_cohort()
    basal = float(cohort.basal_u_per_h[subject - 1])
    ratio = float(cohort.carb_ratio[subject - 1])
    return [
        (0, BASAL_RATE, 0.9 * basal),
        (363, BASAL_RATE, basal),
        (427, MEAL, 45.0),
        (427, BOLUS, 45.0 / ratio),
        (731, MEAL, 52.0),
        (737, MEAL, 18.0),
        (733, BOLUS, 70.0 / ratio),
        (900, BOLUS, 0.5),
        (900, BOLUS, 0.3),
        (1093, MEAL, 63.0),
        (1088, BOLUS, 63.0 / ratio),
        (1262, MEAL, 12.0),
        (1320, BASAL_RATE, 0.9 * basal),
    ]


def _simglucose(subject: int, day: list[tuple[int, int, float]]) -> tuple[np.ndarray, ...]:
    patient = simglucose.T1DPatient.withID(subject)
    patient._params = types.SimpleNamespace(**patient._params.to_dict())
    vg = patient._params.Vg
    basal = 0.0
    bg, gsub = np.empty(MINUTES + 1), np.empty(MINUTES + 1)
    for minute in range(MINUTES + 1):
        bg[minute] = patient.state[GP] / vg
        gsub[minute] = patient.observation.Gsub
        if minute == MINUTES:
            break
        cho = bolus = 0.0
        for at, kind, value in day:
            if at == minute:
                if kind == MEAL:
                    cho += value
                elif kind == BOLUS:
                    bolus += value
                else:
                    basal = value / 60.0
        patient.step(simglucose.Action(CHO=cho, insulin=basal + bolus))
    return bg, gsub


def _twin(subject: int, day: list[tuple[int, int, float]]) -> tuple[np.ndarray, ...]:
    events = sorted(day, key=lambda e: e[0])
    schedule = GlucoseSchedule.from_arrays(*(np.array([e[j] for e in events]) for j in range(3)))
    states, _ = simulate_glucose(subject, schedule, np.arange(MINUTES + 1.0))
    vg = virtual_cohort().params[subject - 1, VG]
    return states[:, GP] / vg, states[:, GS] / vg


@pytest.mark.parametrize("subject", range(1, 31))
def test_a_real_day_agrees_with_simglucose(subject: int) -> None:
    day = _day(subject)
    bg, gsub = _simglucose(subject, day)
    twin_bg, twin_gsub = _twin(subject, day)
    for ours, theirs in ((twin_bg, bg), (twin_gsub, gsub)):
        relative = np.abs(ours - theirs) / np.maximum(theirs, FLOOR_MG_DL)
        assert relative.max() <= TOLERANCE, (subject, relative.max(), int(relative.argmax()))
