"""Fixed-step classical RK4 with steps aligned to events, shared by the mechanistic kernels.

The kernels integrate right-hand sides that are smooth except at known times (a dose, a
meal, a radiotherapy fraction, the end of ejection). :func:`integrate_events` cuts the time
line at every event and sample time and splits each piece into equal steps no longer than
``dt_max``, so no jump falls inside a step and RK4 keeps its fourth order.

A state is a tuple of floats (its length fixed per kernel), so that the stages stay in
registers (with arrays every stage is stored and loaded again: the PK kernel took 30% longer,
the glucose kernel is 35% faster with tuples). A right-hand side is a jitted function
``rhs(t, y, args)`` returning ``dy/dt`` at ``(t, y)`` as a tuple like ``y``; ``args`` is a
tuple of the numbers it needs (parameters, an infusion rate, ...), fixed over a piece. An
array in ``args`` works but costs a reference count at every call (the tumour kernel took
2.5 times as long).

The functions that take jitted functions as arguments are ``inline="always"``: numba lowers
a jitted function passed as a value to the address of its Python object, and never caches a
function holding such an address (it is compiled again in every process). Inlined into the
kernel, the argument becomes a direct call of a global function and the kernel keeps
``cache=True``; a kernel's own function that receives ``rhs`` from here is inlined the same
way. numba's cache checks only the file of the cached function: after editing this module,
delete the ``.nbi``/``.nbc`` files in ``__pycache__``, or kernels cached before keep the old
code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit
from numba.extending import overload

FloatArray = npt.NDArray[np.float64]
State = tuple[float, ...]
#: ``rhs(t, y, args)``: the derivative at ``(t, y)``, a tuple like ``y``.
Rhs = Callable[[float, State, Any], State]


def axpy(y: State, a: float, k: State) -> State:
    """``y + a·k`` item by item (jitted code only)."""
    raise NotImplementedError


def rk4_sum(y: State, c: float, k1: State, k2: State, k3: State, k4: State) -> State:
    """``y + c·(k1 + 2·k2 + 2·k3 + k4)`` item by item (jitted code only)."""
    raise NotImplementedError


def replace(y: State, j: int, value: float) -> State:
    """``y`` with item ``j`` set to ``value`` (jitted code only)."""
    raise NotImplementedError


# Item-by-item tuple arithmetic, unrolled at compile time: the first item, then the rest.
# (numba requires the implementations' parameters to match the typing functions', names
# and annotations alike.)
@overload(axpy)
def _axpy(y: Any, a: Any, k: Any) -> Callable[..., State]:
    def none(y: Any, a: Any, k: Any) -> State:
        return ()

    def impl(y: Any, a: Any, k: Any) -> State:
        return (y[0] + a * k[0], *axpy(y[1:], a, k[1:]))

    return none if len(y) == 0 else impl


@overload(rk4_sum)
def _rk4_sum(y: Any, c: Any, k1: Any, k2: Any, k3: Any, k4: Any) -> Callable[..., State]:
    def none(y: Any, c: Any, k1: Any, k2: Any, k3: Any, k4: Any) -> State:
        return ()

    def impl(y: Any, c: Any, k1: Any, k2: Any, k3: Any, k4: Any) -> State:
        first = y[0] + c * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0])
        return (first, *rk4_sum(y[1:], c, k1[1:], k2[1:], k3[1:], k4[1:]))

    return none if len(y) == 0 else impl


@overload(replace)
def _replace(y: Any, j: Any, value: Any) -> Callable[..., State]:
    def none(y: Any, j: Any, value: Any) -> State:
        return ()

    def impl(y: Any, j: Any, value: Any) -> State:
        return (value if j == 0 else y[0], *replace(y[1:], j - 1, value))

    return none if len(y) == 0 else impl


@njit(cache=True)
def equal_steps(span: float, dt_max: float) -> tuple[int, float]:
    """The fewest equal steps no longer than ``dt_max`` covering ``span``: ``(n, h)``."""
    n = math.ceil(span / dt_max)
    return n, span / n


@njit(cache=True, inline="always")
def rk4_step(rhs: Rhs, t: float, y: State, k1: State, h: float, args: Any) -> State:
    """One classical RK4 step of size ``h`` from ``(t, y)``, whose derivative is ``k1``."""
    k2 = rhs(t + 0.5 * h, axpy(y, 0.5 * h, k1), args)
    k3 = rhs(t + 0.5 * h, axpy(y, 0.5 * h, k2), args)
    k4 = rhs(t + h, axpy(y, h, k3), args)
    return rk4_sum(y, h / 6.0, k1, k2, k3, k4)


@njit(cache=True, inline="always")
def rk4_advance(
    rhs: Rhs, t: float, y: State, k1: State, h: float, args: Any
) -> tuple[State, State]:
    """One RK4 step: the new state and its derivative (the next step's first stage)."""
    new = rk4_step(rhs, t, y, k1, h, args)
    return new, rhs(t + h, new, args)


@njit(cache=True, inline="always")
def rk4_steps(rhs: Rhs, y: State, args: Any, t0: float, t1: float, dt_max: float) -> State:
    """``y`` advanced from ``t0`` to ``t1`` in equal RK4 steps of at most ``dt_max``
    (``y`` itself if ``t1 <= t0``)."""
    span = t1 - t0
    if span <= 0.0:
        return y
    n, h = equal_steps(span, dt_max)
    k1 = rhs(t0, y, args)
    for i in range(n):
        y, k1 = rk4_advance(rhs, t0 + i * h, y, k1, h, args)
    return y


@njit(cache=True, inline="always")
def plain_step(
    rhs: Rhs, t: float, y: State, k1: State, h: float, args: Any, ctx: Any
) -> tuple[State, State]:
    """The ``step`` of :func:`integrate_events` for a kernel with nothing to do per step."""
    return rk4_advance(rhs, t, y, k1, h, args)


@njit(cache=True, inline="always")
def integrate_events(
    rhs: Rhs,
    step: Callable[..., tuple[State, State]],
    on_event: Callable[[int, State, Any], State],
    controls: Callable[[Any, float, float], Any],
    ctx: Any,
    y: State,
    event_times: FloatArray,
    n_events: int,
    cuts: FloatArray,
    sample_times: FloatArray,
    dt_max: float,
) -> tuple[FloatArray, State]:
    """Integrate from ``y`` at time 0 to the last of the sorted ``sample_times``: returns
    the state at each sample time (right-continuous: after the events at that instant)
    and the final state.

    The time line is cut at 0, at the first ``n_events`` of the non-decreasing
    ``event_times``, at the ``cuts`` (times where the right-hand side changes without an
    event, such as the end of an infusion) and at the sample times; each piece is split by
    :func:`equal_steps`. At each cut, ``y = on_event(i, y, ctx)`` applies every event ``i``
    due (in order), then the samples due are taken. On a piece ``[t0, t1]`` the right-hand
    side gets ``args = controls(ctx, t0, t1)`` and each step is
    ``y, k1 = step(rhs, t, y, k1, h, args, ctx)``: the state at ``t + h`` and its derivative
    (:func:`plain_step` does just that). ``ctx`` is the kernel's own data (parameters, event
    payloads, arrays for what it records on the way).
    """
    n_samples = sample_times.shape[0]
    states = np.zeros((n_samples, len(y)))
    if n_samples == 0:
        return states, y
    t_end = sample_times[n_samples - 1]
    n_cuts = cuts.shape[0]
    points = np.empty(1 + n_events + n_cuts + n_samples)
    points[0] = 0.0
    points[1 : 1 + n_events] = event_times[:n_events]
    points[1 + n_events : 1 + n_events + n_cuts] = cuts
    points[1 + n_events + n_cuts :] = sample_times
    points = np.sort(points)
    next_event = 0
    next_sample = 0
    k = 0
    n_points = points.shape[0]
    while k < n_points and points[k] <= t_end:
        t = points[k]
        while next_event < n_events and event_times[next_event] <= t:
            y = on_event(next_event, y, ctx)
            next_event += 1
        while next_sample < n_samples and sample_times[next_sample] <= t:
            for c in range(len(y)):
                states[next_sample, c] = y[c]
            next_sample += 1
        j = k + 1
        while j < n_points and points[j] <= t:
            j += 1
        if j < n_points and points[j] <= t_end:
            args = controls(ctx, t, points[j])
            n, h = equal_steps(points[j] - t, dt_max)
            k1 = rhs(t, y, args)
            for i in range(n):
                y, k1 = step(rhs, t + i * h, y, k1, h, args, ctx)
        k = j
    return states, y
