"""Insufficient or contradictory data are refused, naming what; a failed fit serves nothing."""

from __future__ import annotations

import math

import pytest

from models.dosing import calibration as calibration_module
from models.dosing.calibration import calibrate
from models.dosing.errors import CalibrationFailed, DosingDataError
from models.dosing.forecast import forecast
from models.dosing.history import Course, Infusion, Level, TimedValue
from models.dosing.prior import cockcroft_gault
from models.dosing.recommend import DosingGrid, recommend

DOSES = (Infusion(1000.0, 0.0, 1.0, "d0"), Infusion(1000.0, 12.0, 1.0, "d1"))
CRCL = (TimedValue(0.0, 80.0),)
WEIGHT = (TimedValue(0.0, 70.0),)
LEVELS = (Level(11.5, 9.0, "l0"),)


@pytest.mark.parametrize(
    ("course", "field", "problem"),
    [
        (Course((), LEVELS, CRCL, WEIGHT), "infusions", "missing"),
        (Course(DOSES, (), CRCL, WEIGHT), "levels", "missing"),
        (Course(DOSES, (Level(-1.0, 0.0),), CRCL, WEIGHT), "levels", "missing"),
        (Course(DOSES, (Level(-1.0, 4.0),), CRCL, WEIGHT), "levels", "contradictory"),
        (Course(DOSES, (Level(0.0, 4.0),), CRCL, WEIGHT), "levels", "contradictory"),
        (Course(DOSES, (Level(5.0, math.nan),), CRCL, WEIGHT), "levels", "contradictory"),
        (Course(DOSES, (Level(math.inf, 5.0),), CRCL, WEIGHT), "levels", "contradictory"),
        (Course(DOSES, (Level(5.0, -2.0),), CRCL, WEIGHT), "levels", "contradictory"),
        (Course(DOSES, LEVELS, (), WEIGHT), "creatinine_clearance", "missing"),
        (
            Course(DOSES, LEVELS, (TimedValue(3.0, 80.0),), WEIGHT),
            "creatinine_clearance",
            "missing",
        ),
        (Course(DOSES, LEVELS, CRCL, ()), "weight", "missing"),
        (Course(DOSES, LEVELS, CRCL, (TimedValue(0.0, math.nan),)), "weight", "contradictory"),
        (Course((Infusion(0.0, 0.0, 1.0),), LEVELS, CRCL, WEIGHT), "infusions", "invalid"),
        (Course((Infusion(500.0, 0.0, 0.0),), LEVELS, CRCL, WEIGHT), "infusions", "invalid"),
        (
            Course((Infusion(math.nan, 0.0, 1.0),), LEVELS, CRCL, WEIGHT),
            "infusions",
            "contradictory",
        ),
        (Course(DOSES, LEVELS, (TimedValue(0.0, 2.0),), WEIGHT), "creatinine_clearance", "invalid"),
    ],
)
def test_unusable_data_is_refused_naming_the_field(
    course: Course, field: str, problem: str
) -> None:
    with pytest.raises(DosingDataError) as caught:
        calibrate(course)
    assert (caught.value.field, caught.value.problem) == (field, problem)
    assert field in str(caught.value)


def test_a_fit_that_does_not_converge_is_failed_and_serves_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    course = Course(DOSES, (Level(14.0, 25.0, "l0"),), CRCL, WEIGHT)
    monkeypatch.setattr(calibration_module, "MAX_ITERATIONS", 1)
    state = calibrate(course)
    assert state.status == "failed" and state.posterior is None
    assert "no convergence" in state.message
    with pytest.raises(CalibrationFailed):
        forecast(course, state, (), [20.0], 0.0)
    with pytest.raises(CalibrationFailed):
        recommend(course, state, DosingGrid())


@pytest.mark.parametrize(
    ("scr", "age", "weight", "female", "expected"),
    [
        (1.0, 40.0, 72.0, False, 100.0),
        (1.0, 40.0, 72.0, True, 85.0),
        (0.6, 70.0, 72.0, False, 70.0),  # above 60: creatinine below 1 is used as 1
        (0.6, 60.0, 72.0, False, 80.0 / 0.6),  # 60 exactly: as measured
        (0.4, 30.0, 100.0, False, 150.0),  # capped at 150
    ],
)
def test_cockcroft_gault_follows_the_source_rules(
    scr: float, age: float, weight: float, female: bool, expected: float
) -> None:
    assert cockcroft_gault(scr, age, weight, female) == pytest.approx(expected)


@pytest.mark.parametrize(
    "grid",
    [
        DosingGrid(intervals_h=()),
        DosingGrid(intervals_h=(2.0,)),
        DosingGrid(dose_step_mg=0.0),
        DosingGrid(max_daily_mg=math.inf),
        DosingGrid(target_auc24=(600.0, 400.0)),
        DosingGrid(loading_mg_per_kg=40.0),
    ],
)
def test_a_bad_grid_is_refused(grid: DosingGrid) -> None:
    course = Course(DOSES, (Level(14.0, 25.0, "l0"),), CRCL, WEIGHT)
    with pytest.raises(DosingDataError):
        recommend(course, calibrate(course), grid)
