"""A 0 g meal is no meal: adding it anywhere leaves every output bit-identical.

A meal resets the gastric emptying reference ``D`` (the stomach content when eating began
plus what has been eaten since); a 0 g meal must not, as in simglucose (which starts a meal
only for CHO > 0).
"""

from __future__ import annotations

import numpy as np
import pytest

from models.mechanistic.glucose import (
    GlucoseSchedule,
    GlucoseT1DTwin,
    outcomes_percent,
    simulate_glucose,
    virtual_cohort,
)
from models.mechanistic.glucose_events import BASAL_RATE as BASAL
from models.mechanistic.glucose_events import BOLUS, MEAL, kernel_events
from models.mechanistic.glucose_kernels import EAT, glucose_integrate

SAMPLES = np.linspace(0.0, 24 * 60.0, 24 * 12 + 1)
#: Basal from 0, then meals with boluses at 07:00, 12:00, 18:00 (minutes).
BASE = (
    np.array([0.0, 420.0, 420.0, 720.0, 720.0, 1080.0, 1080.0]),
    np.array([BASAL, MEAL, BOLUS, MEAL, BOLUS, MEAL, BOLUS]),
    np.array([1.0, 70.0, 6.0, 40.0, 4.0, 90.0, 8.0]),
)


def _with_zero_meals(at: np.ndarray) -> GlucoseSchedule:
    times = np.concatenate([BASE[0], at])
    kinds = np.concatenate([BASE[1], np.full(at.size, MEAL)])
    values = np.concatenate([BASE[2], np.zeros(at.size)])
    order = np.argsort(times, kind="stable")
    return GlucoseSchedule.from_arrays(times[order], kinds[order], values[order])


def _placements() -> list[np.ndarray]:
    rng = np.random.default_rng(22)
    return [
        np.array([0.0]),  # before any meal
        np.array([450.0]),  # while the breakfast empties
        np.array([420.0, 720.0]),  # with a real meal, at its instant
        np.array([437.3]),  # between samples and events
        np.array([1440.0]),  # at the horizon
        np.sort(rng.uniform(0.0, 1440.0, 20)),
    ]


@pytest.mark.parametrize("subject", [1, 11, 21])
@pytest.mark.parametrize("at", _placements(), ids=lambda a: f"{a.size}@{a[0]:g}")
def test_zero_gram_meals_change_nothing(subject: int, at: np.ndarray) -> None:
    base = GlucoseSchedule.from_arrays(*BASE)
    states, summary = simulate_glucose(subject, base, SAMPLES)
    states_0, summary_0 = simulate_glucose(subject, _with_zero_meals(at), SAMPLES)
    assert np.array_equal(states, states_0) and np.array_equal(summary, summary_0)


def test_the_kernel_ignores_a_zero_gram_meal_at_an_existing_cut() -> None:
    """In the kernel itself (no schedule filtering): a minute of 0 g eating at 08:00 (a
    sample time, so the time line is cut there anyway; breakfast is eaten by then) leaves
    the stomach's emptying unchanged."""
    cohort = virtual_cohort()
    base = kernel_events(BASE[0], BASE[1].astype(np.int64), BASE[2])
    times = np.r_[base[0], 480.0]
    kinds = np.r_[base[1], EAT].astype(np.int64)
    values = np.r_[base[2], 0.0]
    order = np.argsort(times, kind="stable")
    runs = [
        glucose_integrate(
            cohort.params[10].copy(), cohort.x0[10].copy(), t, k, v, t.size, SAMPLES, 1.0
        )
        for t, k, v in (base, (times[order], kinds[order], values[order]))
    ]  # fmt: skip
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])


@pytest.mark.parametrize("subject", [3, 15, 27])
def test_a_twin_day_of_zero_gram_meals_is_a_day_without_meals(subject: int) -> None:
    """``carbs_g = 0``: the twin's day equals a schedule of basal and boluses alone."""
    twin = GlucoseT1DTwin()
    out = twin.predict_all(np.array([[subject, 0.0, 2.0, 0.8]]))
    schedule = GlucoseSchedule.from_arrays(
        [0.0, 420.0, 720.0, 1080.0], [BASAL, BOLUS, BOLUS, BOLUS], [0.8, 2.0, 2.0, 2.0]
    )
    _, summary = simulate_glucose(subject, schedule, np.array([0.0, 1440.0]))
    assert np.array_equal(out, outcomes_percent(summary[None, :], 1440.0))
