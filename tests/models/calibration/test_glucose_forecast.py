"""Glucose forecasts: 90 % prediction intervals around the mode, time in range and mean
glucose, an exact Shapley explanation that adds up, and leave-one-day-out influence."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.calibration.bench import next_day, virtual_days
from models.calibration.errors import GlucoseDataError
from models.calibration.glucose import calibrate_glucose
from models.calibration.glucose_days import GlucoseDays
from models.calibration.glucose_forecast import (
    explain_glucose,
    forecast_glucose,
    run_glucose,
    time_in_range,
)
from models.calibration.glucose_influence import day_influence
from models.dosing.calibration import Calibration
from models.mechanistic.glucose import virtual_cohort

DAY = 1440.0


@pytest.fixture(scope="module")
def fitted() -> tuple[GlucoseDays, Calibration]:
    days, _ = virtual_days(14, 2, seed=14)
    return days, calibrate_glucose(days)


def test_intervals_hold_the_mode_and_widen_with_the_reading_error(
    fitted: tuple[GlucoseDays, Calibration],
) -> None:
    days, calibration = fitted
    plan = next_day(days, float(virtual_cohort().carb_ratio[13]))
    f = forecast_glucose(days, calibration, plan, 2 * DAY, 12 * 60.0, n_draws=100)
    assert len(f.times_min) == 145 and f.times_min[0] == 2 * DAY
    for low, mid, high in ((f.plasma_low, f.plasma, f.plasma_high),
                           (f.cgm_low, f.cgm, f.cgm_high)):  # fmt: skip
        assert np.all(np.array(low) <= np.array(mid)) and np.all(np.array(mid) <= high)
    # a CGM reading's error (SD 11.6 mg/dL) alone spans about 38 mg/dL of a 90 % interval
    assert np.median(np.array(f.cgm_high) - np.array(f.cgm_low)) > 30.0
    assert f.time_in_range_low <= f.time_in_range <= f.time_in_range_high
    assert f.mean_glucose == pytest.approx(float(np.mean(f.plasma)), rel=1e-12)
    again = forecast_glucose(days, calibration, plan, 2 * DAY, 12 * 60.0, n_draws=100)
    assert again == f  # seeded


def test_the_explanation_adds_up_against_the_median_person(
    fitted: tuple[GlucoseDays, Calibration],
) -> None:
    days, calibration = fitted
    plan = next_day(days, float(virtual_cohort().carb_ratio[13]))
    mean, tir = explain_glucose(days, calibration, plan, 2 * DAY, DAY)
    eta = np.array(calibration.usable().eta)
    plasma, _ = run_glucose(days, plan, np.vstack([np.zeros(3), eta]),
                            2 * DAY + np.arange(0.0, DAY + 1.0, 5.0))  # fmt: skip
    assert mean.base == pytest.approx(float(np.mean(plasma[0])), rel=1e-12)
    assert mean.value == pytest.approx(float(np.mean(plasma[1])), rel=1e-12)
    assert tir.value == pytest.approx(float(time_in_range(plasma[1:])[0]), rel=1e-12)
    for explained in (mean, tir):
        total = explained.base + sum(v for _, v in explained.contributions)
        assert total == pytest.approx(explained.value, rel=1e-12, abs=1e-9)
        assert [n for n, _ in explained.contributions] == ["eta_Vmx", "eta_kp3", "eta_kabs"]
    # Vmx above the median (more insulin-driven uptake) lowers the mean glucose
    assert (eta[0] > 0) == (dict(mean.contributions)["eta_Vmx"] < 0)


def test_each_day_is_left_out_and_refitted(fitted: tuple[GlucoseDays, Calibration]) -> None:
    days, calibration = fitted
    influence = day_influence(days, calibration)
    distances = [d.distance for d in influence if d.distance is not None]
    assert [d.day for d in influence][:2] in ([0, 1], [1, 0])
    assert distances == sorted(distances, reverse=True) and distances[0] > 0.1
    first = next(d for d in influence if d.day == 0)
    assert first.readings == 288
    reduced = dataclasses.replace(days, cgm_times=days.cgm_times[288:],
                                  cgm_mg_dl=days.cgm_mg_dl[288:])  # fmt: skip
    without = np.array(calibrate_glucose(reduced).usable().eta)
    ratios = np.exp(np.array(calibration.usable().eta) - without)
    assert [r for _, r in first.ratios] == pytest.approx(ratios, rel=1e-3)


def test_a_window_past_the_solver_horizon_is_refused(
    fitted: tuple[GlucoseDays, Calibration],
) -> None:
    days, calibration = fitted
    with pytest.raises(GlucoseDataError) as caught:
        forecast_glucose(days, calibration, days.schedule, 14.5 * DAY, DAY)
    assert caught.value.field == "horizon_h"
