"""Recommendations: ranking rules, the 1 h/g infusion rule, analytic attainment, loading."""

from __future__ import annotations

import numpy as np
import pytest

from models.dosing.calibration import calibrate
from models.dosing.forecast import forecast, infusion_hours, posterior_draws, repeated_infusions
from models.dosing.history import Course, Infusion, Level, TimedValue
from models.dosing.predict import Predictor
from models.dosing.recommend import DosingGrid, recommend

COURSE = Course(
    tuple(Infusion(1000.0, 12.0 * i, 1.0, f"d{i}") for i in range(5)),
    (Level(38.0, 26.0, "a"), Level(47.5, 12.0, "b")),
    (TimedValue(0.0, 90.0), TimedValue(30.0, 60.0)),  # renal function falls during the course
    (TimedValue(0.0, 80.0),),
)


@pytest.mark.parametrize(
    "grid", [DosingGrid(), DosingGrid((6.0, 8.0, 12.0, 24.0, 36.0), 125.0, 6000.0)]
)
def test_ranking_by_probability_then_lower_daily_dose_then_longer_interval(
    grid: DosingGrid,
) -> None:
    rec = recommend(COURSE, calibrate(COURSE), grid)
    keys = [(-round(r.probability, 9), r.daily_mg, -r.interval_h) for r in rec.regimens]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    # every dose on the grid is there, within the daily maximum
    expected = {
        (step * grid.dose_step_mg, tau)
        for tau in grid.intervals_h
        for step in range(1, 200)
        if step * grid.dose_step_mg * 24 / tau <= grid.max_daily_mg
        and infusion_hours(step * grid.dose_step_mg) < tau
    }
    assert {(r.dose_mg, r.interval_h) for r in rec.regimens} == expected
    same_daily = [r for r in rec.regimens if r.daily_mg == 2000.0]
    assert [r.interval_h for r in same_daily] == sorted(
        (r.interval_h for r in same_daily), reverse=True
    )


def test_infusions_run_at_least_one_hour_per_gram() -> None:
    for dose in np.arange(125.0, 4001.0, 125.0):
        hours = infusion_hours(float(dose))
        assert hours >= max(1.0, dose / 1000.0) and hours * 2 == int(hours * 2)
    rec = recommend(COURSE, calibrate(COURSE), DosingGrid(loading_mg_per_kg=35.0))
    assert all(r.infusion_h >= r.dose_mg / 1000.0 for r in rec.regimens)
    assert rec.loading_dose_mg == 2750.0 and rec.loading_infusion_h == 3.0
    assert all(d.duration_h >= d.amount_mg / 1000 for d in repeated_infusions(2250.0, 12.0, 3, 0.0))


def test_attainment_matches_posterior_draws_and_auc_is_daily_dose_over_clearance() -> None:
    state = calibrate(COURSE)
    rec = recommend(COURSE, state, DosingGrid())
    cl = state.usable().parameter("CL")
    draws = 60.0 * np.exp(posterior_draws(state, 200_000, 1)[:, 0] - state.usable().eta[0])
    for r in rec.regimens[:8]:
        assert r.auc24 == pytest.approx(r.daily_mg / cl)
        auc = r.daily_mg / (cl * draws / 60.0)
        assert r.probability == pytest.approx(np.mean((auc >= 400) & (auc <= 600)), abs=5e-3)
        assert r.auc24_low < r.auc24 < r.auc24_high and r.trough_low < r.trough < r.trough_high


def test_the_steady_state_trough_equals_a_long_exact_simulation() -> None:
    state = calibrate(COURSE)
    rec = recommend(COURSE, state, DosingGrid())
    regimen = next(r for r in rec.regimens if r.interval_h == 12.0 and r.dose_mg == 1500.0)
    doses = repeated_infusions(1500.0, 12.0, 80, 60.0)
    last = 60.0 + 80 * 12.0
    predictor = Predictor(COURSE, [last], COURSE.infusions + doses)
    conc = predictor.predict(np.array(state.usable().eta))[0][0, 0]
    assert regimen.trough == pytest.approx(conc, rel=1e-6)


def test_forecasts_are_deterministic_and_bracket_the_point() -> None:
    state = calibrate(COURSE)
    regimen = repeated_infusions(1250.0, 12.0, 4, 60.0)
    times = np.arange(60.0, 108.0, 3.0)
    first = forecast(COURSE, state, regimen, times, 72.0)
    assert first == forecast(COURSE, state, regimen, times, 72.0)
    assert np.all(np.array(first.concentration_low) < np.array(first.concentration_high))
    assert first.auc24_low < first.auc24 < first.auc24_high
