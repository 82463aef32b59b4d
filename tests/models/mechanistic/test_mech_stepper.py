"""The shared RK4 stepper against closed forms; the kernels built on it stay cacheable."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from numba import njit

from models.mechanistic import warm_up
from models.mechanistic.glucose_kernels import glucose_integrate, glucose_integrate_batch
from models.mechanistic.hermite import below, root
from models.mechanistic.pk_kernels import (
    pk_integrate,
    pk_integrate_batch,
    pk_steady_state,
    pk_steady_state_batch,
)
from models.mechanistic.radiotherapy_kernels import tumour_integrate, tumour_integrate_batch
from models.mechanistic.stepper import (
    State,
    integrate_events,
    plain_step,
    replace,
    rk4_steps,
)
from models.mechanistic.windkessel_kernels import windkessel_batch, windkessel_beat

K = 0.3  # 1/h


@njit
def _decay(t: float, y: State, k: float) -> State:
    return (-k * y[0],)


@njit
def _bolus(i: int, y: State, amounts: Any) -> State:
    return replace(y, 0, y[0] + amounts[i])


@njit
def _rate(amounts: Any, t0: float, t1: float) -> float:
    return K


@njit
def _boluses(times: Any, amounts: Any, samples: Any, dt_max: float) -> Any:
    states, _ = integrate_events(
        _decay, plain_step, _bolus, _rate, amounts, (0.0,), times, times.size, np.empty(0),
        samples, dt_max,
    )  # fmt: skip
    return states[:, 0]


def _closed_form(times: np.ndarray, amounts: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Superposed boluses, right-continuous at a dose time."""
    s = t[:, None] - times[None, :]
    return np.sum(np.where(s >= 0.0, amounts * np.exp(-K * np.maximum(s, 0.0)), 0.0), axis=1)


TIMES = np.array([0.0, 2.5, 2.5, 7.25, 11.0])
AMOUNTS = np.array([100.0, 40.0, 10.0, 70.0, 30.0])


def test_decay_with_boluses_matches_the_closed_form() -> None:
    """y' = -k·y with boluses at event times, sampled on a grid that falls on some doses."""
    samples = np.linspace(0.0, 24.0, 97)  # every 15 min: 2.5 and 7.25 h are on the grid
    got = _boluses(TIMES, AMOUNTS, samples, 0.05)
    np.testing.assert_allclose(got, _closed_form(TIMES, AMOUNTS, samples), rtol=1e-8)
    # right-continuous: the sample at a dose time includes that dose (both at 2.5 h)
    at = int(np.flatnonzero(samples == 2.5)[0])
    assert got[at] > got[at - 1] + 40.0


def test_fourth_order_between_events() -> None:
    samples = np.array([1.0, 3.0, 8.0, 13.0, 17.0])
    exact = _closed_form(TIMES, AMOUNTS, samples)
    errors = [np.max(np.abs(_boluses(TIMES, AMOUNTS, samples, dt) - exact)) for dt in (0.4, 0.2)]
    assert errors[0] / errors[1] == pytest.approx(16.0, rel=0.1)


def test_steps_end_on_events_between_samples() -> None:
    """Only the last sample time: the doses between (2.5, 7.25, 11 h) still cut the time
    line, so a step longer than the gaps between them does not carry a dose along."""
    samples = np.array([24.0])
    exact = _closed_form(TIMES, AMOUNTS, samples)[0]
    assert _boluses(TIMES, AMOUNTS, samples, 0.01)[0] == pytest.approx(exact, rel=1e-10)
    # at most 1 h per step (k·h <= 0.3): within 2e-3 (the last dose 1 h late: 17% off)
    assert _boluses(TIMES, AMOUNTS, samples, 1.0)[0] == pytest.approx(exact, rel=2e-3)


@njit
def _cubic_rate(t: float, y: State, args: float) -> State:
    return (3.0 * t * t, math.cos(t))


@njit
def _quadrature(t1: float, dt_max: float) -> State:
    return rk4_steps(_cubic_rate, (0.0, 0.0), 0.0, 0.0, t1, dt_max)


def test_stage_times_of_a_time_dependent_right_hand_side() -> None:
    """RK4 on y' = f(t) is Simpson's rule: exact for t³, fourth order for sin t."""
    y = _quadrature(2.0, 0.3)
    assert y[0] == pytest.approx(8.0, rel=1e-14)
    assert y[1] == pytest.approx(math.sin(2.0), rel=1e-4)
    assert _quadrature(-1.0, 0.3) == (0.0, 0.0)  # an empty span leaves the state alone


def test_hermite_root_and_time_below_a_level() -> None:
    """On a cubic the Hermite interpolant is exact: s³ reaches 1/8 at s = 1/2."""
    assert root(0.0, 1.0, 0.0, 1.0, 0.0, 3.0, 0.125) == pytest.approx(0.5, abs=1e-15)
    assert below(0.0, 1.0, 0.0, 3.0, 0.125) == pytest.approx(0.5, abs=1e-15)
    assert below(0.0, 1.0, 1.0, 1.0, 0.25) == pytest.approx(0.25, abs=1e-15)


def test_kernels_built_on_the_stepper_are_cacheable() -> None:
    """A jitted function passed as a value pins a process address into the code calling it
    (numba then never caches that code): no kernel entry point holds one."""
    warm_up()  # every twin through its public entry points
    entry_points = (
        pk_integrate, pk_integrate_batch, pk_steady_state, pk_steady_state_batch,
        glucose_integrate, glucose_integrate_batch, tumour_integrate, tumour_integrate_batch,
        windkessel_beat, windkessel_batch,
    )  # fmt: skip
    compiled = []
    for kernel in entry_points:
        for result in kernel.overloads.values():
            assert not result.library.has_dynamic_globals, kernel.__name__
            compiled.append(kernel.__name__)
    assert len(set(compiled)) >= 6, compiled
