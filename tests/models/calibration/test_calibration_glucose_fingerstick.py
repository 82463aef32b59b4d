"""Finger-stick glucose in the glucose calibration: read from the plasma compartment at
each reading's own time, with its own independent (ISO 15197) error."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.calibration.bench import virtual_days
from models.calibration.errors import GlucoseDataError
from models.calibration.glucose import calibrate_glucose
from models.calibration.glucose_days import (
    GlucoseDays,
    basal_insulin,
    kernel_days,
    simulate_readings,
)
from models.calibration.glucose_prior import fingerstick_sd, person_parameters
from models.mechanistic._validation import FloatArray


@pytest.fixture(scope="module")
def fitted() -> tuple[GlucoseDays, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Three CGM days, the fit's η, and the fit's plasma and sensor glucose at the six
    well-separated CGM times where the two differ most (after meals: the sensor lags)."""
    days, _ = virtual_days(14, 3, seed=14)
    eta = np.array(calibrate_glucose(days).usable().eta)
    ib = basal_insulin(person_parameters(np.zeros(3), days.weight_kg, 0.0), days.basal_u_per_h())
    both = dataclasses.replace(
        days, fingerstick_times=days.cgm_times, fingerstick_mg_dl=days.cgm_mg_dl
    )
    row = person_parameters(eta, days.weight_kg, ib)[None, :]
    sensor, plasma = (a[0] for a in simulate_readings(row, kernel_days(both)))
    chosen: list[int] = []
    for i in np.argsort(-np.abs(plasma - sensor)):
        if all(abs(days.cgm_times[i] - days.cgm_times[j]) > 120.0 for j in chosen):
            chosen.append(int(i))
        if len(chosen) == 6:
            break
    at = np.sort(np.array(chosen))
    return days, eta, days.cgm_times[at], plasma[at], sensor[at]


def _with(days: GlucoseDays, times: FloatArray, values: FloatArray) -> FloatArray:
    sticks = dataclasses.replace(days, fingerstick_times=times, fingerstick_mg_dl=values)
    return np.array(calibrate_glucose(sticks).usable().eta)


def test_a_fingerstick_is_fitted_against_plasma_not_sensor_glucose(
    fitted: tuple[GlucoseDays, FloatArray, FloatArray, FloatArray, FloatArray],
) -> None:
    days, eta, times, plasma, sensor = fitted
    assert np.min(np.abs(plasma - sensor)) > 10.0  # the two compartments differ there
    # readings equal to the fit's plasma glucose agree with the fit: the mode stays
    assert np.max(np.abs(_with(days, times, plasma) - eta)) < 1e-3
    # the same readings equal to its sensor glucose do not: the mode moves
    assert np.max(np.abs(_with(days, times, sensor) - eta)) > 0.05


def test_a_fingerstick_value_changes_the_fit_at_its_own_time(
    fitted: tuple[GlucoseDays, FloatArray, FloatArray, FloatArray, FloatArray],
) -> None:
    days, eta, times, plasma, _ = fitted
    higher = _with(days, times, plasma + 30.0)
    assert np.max(np.abs(higher - eta)) > 0.05
    # the same values at other times (an hour later) fit differently
    assert np.max(np.abs(_with(days, times + 60.0, plasma + 30.0) - higher)) > 1e-3


def test_the_fingerstick_error_is_iso_15197() -> None:
    """95 % within ±15 mg/dL below 100 mg/dL, ±15 % at or above: 1.96 SD at that limit."""
    sd = fingerstick_sd(np.array([40.0, 99.0, 100.0, 200.0, 400.0]))
    assert sd == pytest.approx([15 / 1.96, 15 / 1.96, 15 / 1.96, 30 / 1.96, 60 / 1.96])


def test_unusable_fingersticks_are_refused_naming_them() -> None:
    days, _ = virtual_days(5, 1, seed=5)
    for times, values, problem in [
        (np.array([10.0, 20.0]), np.array([100.0]), "contradictory"),
        (np.array([30.0, 20.0]), np.array([100.0, 110.0]), "invalid"),
        (np.array([10.0]), np.array([np.nan]), "invalid"),
        (np.array([10.0]), np.array([5.0]), "invalid"),
    ]:
        with pytest.raises(GlucoseDataError) as caught:
            calibrate_glucose(
                dataclasses.replace(days, fingerstick_times=times, fingerstick_mg_dl=values)
            )
        assert (caught.value.field, caught.value.problem) == ("fingerstick", problem)
