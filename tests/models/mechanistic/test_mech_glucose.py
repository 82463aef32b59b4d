"""UVA/Padova glucose kernel against scipy, step halving, steady state and sanity.

The kernel takes piecewise-constant inputs (minutes of eating, bolus rates, basal rates);
the days here are schedules of meals and boluses made into those events by
``glucose_events.kernel_events`` (itself checked against simglucose in
``test_mech_glucose_simglucose.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from models.mechanistic.errors import MechanisticInputError
from models.mechanistic.glucose import (
    GlucoseSchedule,
    GlucoseT1DTwin,
    simulate_glucose,
    virtual_cohort,
)
from models.mechanistic.glucose_events import kernel_events
from models.mechanistic.glucose_kernels import (
    GP,
    N_STATE,
    XI,
    glucose_integrate,
    glucose_integrate_batch,
)

Events = list[tuple[float, int, float]]
SAMPLES = np.arange(0.0, 1441.0, 5.0)  # a CGM's 5-min grid over 24 h


def _rhs(
    p: np.ndarray, iir: float, eat: float, dbar: float
) -> Callable[[float, np.ndarray], list[float]]:
    """The published equations, written again with numpy for scipy (independent of the
    kernel): Dalla Man et al. 2007 with subcutaneous insulin and sensor compartments."""
    bw, _vg, vi, k1, k2, vm0, vmx, km0, p2u, ib = p[:10]
    kp1, kp2, kp3, ki, fsnc, ke1, ke2, m1, m2, m4 = p[10:20]
    m30, ka1, ka2, kd, kmax, kmin, kabs, b, c, f = p[20:30]
    ksc = p[30]

    def rhs(_t: float, x: np.ndarray) -> list[float]:
        q1, q2, qg, gp, gt, ip, xi, i1, i_d, il, s1, s2, gs, _ = x
        if dbar > 0:
            alpha, beta = 5 / (2 * dbar * (1 - b)), 5 / (2 * dbar * c)
            tanh_sum = np.tanh(alpha * (q1 + q2 - b * dbar)) - np.tanh(beta * (q1 + q2 - c * dbar))
            kempt = kmin + (kmax - kmin) / 2 * (tanh_sum + 2)
        else:
            kempt = kmax
        insulin = ip / vi
        egp = max(kp1 - kp2 * gp - kp3 * i_d, 0.0)
        dgp = egp + f * kabs * qg / bw - fsnc - ke1 * max(gp - ke2, 0.0) - k1 * gp + k2 * gt
        dgp = 0.0 if gp <= 0.0 and dgp < 0.0 else dgp  # an empty compartment stays empty
        dgt = -(vm0 + vmx * xi) * gt / (km0 + gt) + k1 * gp - k2 * gt
        dgt = 0.0 if gt <= 0.0 and dgt < 0.0 else dgt
        return [
            eat - kmax * q1,
            kmax * q1 - kempt * q2,
            kempt * q2 - kabs * qg,
            dgp,
            dgt,
            -(m2 + m4) * ip + m1 * il + ka1 * s1 + ka2 * s2,
            -p2u * xi + p2u * (insulin - ib),
            -ki * (i1 - insulin),
            -ki * (i_d - i1),
            -(m1 + m30) * il + m2 * ip,
            iir - (kd + ka1) * s1,
            kd * s1 - ka2 * s2,
            ksc * (gp - gs),
            gp,
        ]

    return rhs


def reference(
    p: np.ndarray, x0: np.ndarray, events: Events, samples: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """scipy DOP853 (rtol 1e-12) piecewise between events, threshold crossings located by
    solve_ivp's event finder: ``(G at samples, [min in range, below, above, mean G])``."""
    bw, vg = p[0], p[1]
    y = np.concatenate([x0, [0.0]])
    t_end = float(samples[-1])
    edges = sorted({0.0, t_end, *(e[0] for e in events)})
    basal = bolus = eat = below = above = 0.0
    started = y[0] + y[1]  # the stomach when the current meal began (mg)
    eaten = 0.0  # grams eaten since
    glucose = np.zeros(samples.size)
    pending = sorted(events, key=lambda e: e[0])
    for a, b in itertools.pairwise(edges):
        while pending and pending[0][0] <= a:
            _, kind, value = pending.pop(0)
            if kind == 0:  # a minute of eating
                if value > 0 and eat == 0:
                    started, eaten = y[0] + y[1], 0.0
                eaten += value
                eat = 1000 * value
            elif kind == 1:
                bolus = value * 6000 / bw
            else:
                basal = value / 60 * 6000 / bw
        glucose[samples == a] = y[GP] / vg
        crossings = [lambda _t, x, g=g: x[GP] / vg - g for g in (70.0, 180.0)]
        sol = solve_ivp(
            _rhs(p, basal + bolus, eat, started + 1000 * eaten),
            (a, b),
            y,
            method="DOP853",
            rtol=1e-12,
            atol=1e-10,
            dense_output=True,
            events=crossings,
        )
        inside = (samples > a) & (samples <= b)
        if inside.any():
            glucose[inside] = sol.sol(samples[inside])[GP] / vg
        for level, times in zip((70.0, 180.0), sol.t_events, strict=True):
            cuts = [a, *times, b]
            for u, w in itertools.pairwise(cuts):
                g = sol.sol(0.5 * (u + w))[GP] / vg
                below += (w - u) * (level == 70.0 and g < level)
                above += (w - u) * (level == 180.0 and g > level)
        y = sol.y[:, -1].copy()
    summary = np.array([t_end - below - above, below, above, y[-1] / (vg * t_end)])
    return glucose, summary


def _arrays(events: Events) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    times = np.array([e[0] for e in events], dtype=np.float64)
    kinds = np.array([e[1] for e in events], dtype=np.int64)
    values = np.array([e[2] for e in events], dtype=np.float64)
    return times, kinds, values


def _kernel_events(events: Events) -> Events:
    """A schedule (meals g, boluses U, basal U/h) as the kernel's events."""
    ordered = sorted(events, key=lambda e: e[0])
    times, kinds, values = kernel_events(*_arrays(ordered))
    return list(zip(times.tolist(), kinds.tolist(), values.tolist(), strict=True))


def _day(subject: int, carbs: float = 60.0, bolus: float | None = None) -> Events:
    """Kernel events of a day: basal at the subject's steady-state rate, three meals with a
    carb-ratio bolus; the dinner bolus 15 min late (an event that is not a meal time)."""
    cohort = virtual_cohort()
    dose = carbs / cohort.carb_ratio[subject - 1] if bolus is None else bolus
    basal = float(cohort.basal_u_per_h[subject - 1])
    schedule = [
        (0.0, 2, basal),
        (420.0, 0, carbs),
        (420.0, 1, dose),
        (720.0, 0, 1.5 * carbs),
        (720.0, 1, 1.5 * dose),
        (1080.0, 0, carbs),
        (1095.0, 1, dose),
        (1320.0, 2, 0.8 * basal),
    ]
    return _kernel_events(schedule)


def _run(
    subject: int, events: Events, samples: np.ndarray, dt: float
) -> tuple[np.ndarray, np.ndarray]:
    cohort = virtual_cohort()
    times, kinds, values = _arrays(events)
    p, x0 = cohort.params[subject - 1], cohort.x0[subject - 1]
    states, summary = glucose_integrate(p, x0, times, kinds, values, len(events), samples, dt)
    return states[:, GP] / p[1], summary


# adolescent with the fastest absorption (kabs 1.23/min), adults, and a child given an
# adult's bolus (hypoglycaemia, production floor and renal threshold all crossed)
CASES = [(5, 60.0, None), (11, 70.0, None), (16, 80.0, None), (24, 70.0, 4.0), (28, 60.0, None)]


@pytest.mark.parametrize(("subject", "carbs", "bolus"), CASES)
def test_matches_solve_ivp(subject: int, carbs: float, bolus: float | None) -> None:
    events = _day(subject, carbs, bolus)
    ref_g, ref_summary = reference(
        virtual_cohort().params[subject - 1], virtual_cohort().x0[subject - 1], events, SAMPLES
    )
    glucose, summary = _run(subject, events, SAMPLES, 0.25)
    np.testing.assert_allclose(glucose, ref_g, rtol=1e-6)
    assert summary[3] == pytest.approx(ref_summary[3], rel=1e-9)
    # event-derived: within one output sample (5 min); interpolated crossings do far better
    assert np.all(np.abs(summary[:3] - ref_summary[:3]) <= 5.0)
    assert np.all(np.abs(summary[:3] - ref_summary[:3]) <= 1e-3)
    # the twin's default step (1 min), on the outputs it reports
    _, coarse = _run(subject, events, np.array([0.0, 1440.0]), 1.0)
    assert coarse[3] == pytest.approx(ref_summary[3], rel=1e-6)
    assert np.all(np.abs(coarse[:3] - ref_summary[:3]) <= 0.05)
    assert summary[:3].sum() == pytest.approx(1440.0, rel=1e-12)


def test_fourth_order_between_events() -> None:
    """Halving the step (steps aligned with hourly samples and the events) divides the
    error by about 2**4 = 16, also across the renal-threshold and floor kinks.

    From 0.25 min on: while a meal is eaten, ``D`` grows each minute and the gastric
    emptying switch (the tanh terms in ``Qsto``) sweeps from ``kmax`` to ``kmin`` within
    seconds, which steps of 1 and 0.5 min (8 parts each while eating) do not resolve yet
    (ratios 8.8 and 21 measured; 16.4 and 16.9 below)."""
    subject = 24  # child: glucose crosses both kinks of the right-hand side
    events = _day(subject, 70.0, 4.0)
    hourly = np.arange(0.0, 1441.0, 60.0)
    p, x0 = virtual_cohort().params[subject - 1], virtual_cohort().x0[subject - 1]
    ref_g, _ = reference(p, x0, events, hourly)
    steps = (0.25, 0.125, 0.0625)
    errors = [np.max(np.abs(_run(subject, events, hourly, dt)[0] - ref_g)) for dt in steps]
    ratios = errors[0] / errors[1], errors[1] / errors[2]
    assert all(12.0 < r < 20.0 for r in ratios), (errors, ratios)


def test_batch_equals_single() -> None:
    cohort = virtual_cohort()
    subjects = np.arange(1, 31)
    rows = [_arrays(_day(int(s), 40.0 + s)) for s in subjects]
    n_events = np.array([r[0].size for r in rows], dtype=np.int64)
    width = int(n_events.max())
    times, kinds, values = (
        np.stack([np.pad(r[k], (0, width - r[k].size)) for r in rows]) for k in range(3)
    )
    states, summary = glucose_integrate_batch(
        cohort.params.copy(), cohort.x0.copy(), times, kinds, values, n_events, SAMPLES, 1.0
    )
    for i in range(30):
        t, k, v = rows[i]
        one_states, one_summary = glucose_integrate(
            cohort.params[i], cohort.x0[i], t, k, v, t.size, SAMPLES, 1.0
        )
        assert np.array_equal(states[i], one_states)
        assert np.array_equal(summary[i], one_summary)


@pytest.mark.parametrize(("carbs", "bolus"), [(60.0, None), (0.0, 25.0), (150.0, 0.0)])
def test_states_never_negative(carbs: float, bolus: float | None) -> None:
    """Every amount and concentration of every subject stays >= 0, even after an overdose
    without a meal (the plasma compartment empties and stays empty instead of going
    negative). ``X``, insulin action relative to basal, is negative below basal insulin."""
    amounts = [j for j in range(N_STATE) if j != XI]
    for subject in range(1, 31):
        events = _day(subject, carbs, bolus)
        times, kinds, values = _arrays(events)
        cohort = virtual_cohort()
        states, summary = glucose_integrate(
            cohort.params[subject - 1], cohort.x0[subject - 1], times, kinds, values, times.size,
            SAMPLES, 1.0,
        )  # fmt: skip
        assert np.all(states[:, amounts] >= 0.0), subject
        assert np.all(summary >= 0.0)


def test_fasting_steady_state_stays_at_basal_glucose() -> None:
    """Without meals, at the subject's steady-state basal rate, glucose stays at ``Gb``."""
    cohort = virtual_cohort()
    for subject in range(1, 31):
        basal = float(cohort.basal_u_per_h[subject - 1])
        glucose, summary = _run(subject, [(0.0, 2, basal)], SAMPLES, 1.0)
        gb = cohort.basal_glucose[subject - 1]
        np.testing.assert_allclose(glucose, gb, rtol=1e-9)
        assert summary[3] == pytest.approx(gb, rel=1e-9)
        assert summary[0] == pytest.approx(1440.0)  # Gb of every subject is in range


def test_cohort_table() -> None:
    cohort = virtual_cohort()
    assert len(cohort.names) == 30 and cohort.params.shape == (30, 31)
    assert cohort.names[0] == "adolescent#001" and cohort.names[10] == "adult#001"
    assert cohort.names[29] == "child#010"
    assert cohort.x0.shape == (30, 13) and np.all(np.isfinite(cohort.x0))
    assert np.all((cohort.basal_glucose > 130.0) & (cohort.basal_glucose < 155.0))
    assert np.all((cohort.age[10:20] >= 18.0) & (cohort.age[20:] < 13.0))
    assert np.all(cohort.carb_ratio > 0.0) and np.all(cohort.basal_u_per_h > 0.0)


def test_twin_outputs_and_validation() -> None:
    twin = GlucoseT1DTwin()
    assert twin.fit() is twin
    cohort = virtual_cohort()
    X = np.array([[11.0, 60.0, 6.0, cohort.basal_u_per_h[10]], [24.0, 70.0, 5.5, 0.5]])
    out = twin.predict_all(X)
    assert np.allclose(out[:, :3].sum(axis=1), 100.0)
    assert out[1, 1] > 10.0  # the child's adult-sized bolus: time below range
    for k, name in enumerate(twin.output_names):
        assert np.array_equal(twin.predict_outputs(X, name), out[:, k])
    assert np.array_equal(twin.predict(X), out[:, 0])
    times, glucose = twin.trajectory(X[0])
    assert times.shape == glucose.shape == (289,) and times[-1] == pytest.approx(24.0)
    assert glucose[0] == pytest.approx(cohort.basal_glucose[10], rel=1e-9)
    # the trace's mean agrees with the reported mean glucose (trapezoid on 5-min samples)
    assert np.trapezoid(glucose, times) / 24.0 == pytest.approx(out[0, 3], rel=1e-3)
    bad = [
        ([0.0, 60.0, 6.0, 1.0], "subject"),
        ([11.5, 60.0, 6.0, 1.0], "subject"),
        ([11.0, -5.0, 6.0, 1.0], "carbs_g"),
        ([11.0, 60.0, 30.0, 1.0], "bolus_u"),
        ([11.0, 60.0, 6.0, np.nan], "finite"),
    ]
    for row, field in bad:
        with pytest.raises(MechanisticInputError, match=field):
            twin.predict_outputs(np.array([row]), "time_in_range")
    with pytest.raises(MechanisticInputError, match="output"):
        twin.predict_outputs(X, "hba1c")
    with pytest.raises(MechanisticInputError, match="dt_max"):
        GlucoseT1DTwin(dt_max=5.0).predict_all(X)
    with pytest.raises(MechanisticInputError, match="columns"):
        twin.predict_all(np.ones((2, 3)))


def test_schedule_validation_and_simulation() -> None:
    schedule = GlucoseSchedule.from_arrays([0.0, 60.0, 60.0], [2, 0, 1], [1.0, 50.0, 5.0])
    states, summary = simulate_glucose(11, schedule, [0.0, 60.0, 240.0])
    assert states.shape == (3, N_STATE) and summary[:3].sum() == pytest.approx(240.0)
    # eating (5 g/min) begins at 60 min: nothing in the stomach yet, then the 50 g are eaten
    assert states[1, 0] == 0.0
    eaten = simulate_glucose(11, schedule, [0.0, 70.0])[0][1, :3].sum()
    assert eaten == pytest.approx(50_000.0, rel=0.1)
    with pytest.raises(MechanisticInputError, match="event_times"):
        GlucoseSchedule.from_arrays([60.0, 0.0], [0, 0], [10.0, 10.0])
    with pytest.raises(MechanisticInputError, match="bolus"):
        GlucoseSchedule.from_arrays([0.0], [1], [-1.0])
    with pytest.raises(MechanisticInputError, match="meal_carbs"):
        GlucoseSchedule.from_arrays([0.0], [0], [1000.0])
    with pytest.raises(MechanisticInputError, match="event_kinds"):
        GlucoseSchedule.from_arrays([0.0], [7], [1.0])
    with pytest.raises(MechanisticInputError, match="equal length"):
        GlucoseSchedule.from_arrays([0.0, 1.0], [0], [1.0])
    with pytest.raises(MechanisticInputError, match="subject"):
        simulate_glucose(31, schedule, [0.0, 60.0])
    with pytest.raises(MechanisticInputError, match="dt_max"):
        simulate_glucose(11, schedule, [0.0, 60.0], dt_max=1e-4)
    with pytest.raises(MechanisticInputError, match="sample_times"):
        simulate_glucose(11, schedule, [60.0, 0.0])


def test_fourteen_days_of_events_fit_the_solver_limits() -> None:
    """14 days of a pump (hourly basal changes), three meals with boluses and a correction
    a day are accepted and run; beyond the horizon cap (15 days) is refused."""
    times, kinds, values = [], [], []
    for day in range(14):
        for hour in range(24):
            times.append(day * 1440.0 + hour * 60.0), kinds.append(2), values.append(0.9)
        for minute, grams in ((420.0, 60.0), (750.0, 80.0), (1110.0, 70.0)):
            times += [day * 1440.0 + minute] * 2
            kinds += [0, 1]
            values += [grams, grams / 10.0]
        times.append(day * 1440.0 + 1300.0), kinds.append(1), values.append(1.0)
    order = np.argsort(times, kind="stable")
    schedule = GlucoseSchedule.from_arrays(
        np.array(times)[order], np.array(kinds)[order], np.array(values)[order]
    )
    samples = np.arange(0.0, 14 * 1440.0 + 1.0, 5.0)
    states, summary = simulate_glucose(11, schedule, samples)
    assert states.shape == (samples.size, N_STATE) and np.all(np.isfinite(states))
    assert summary[:3].sum() == pytest.approx(14 * 1440.0)
    with pytest.raises(MechanisticInputError, match="sample_times"):
        simulate_glucose(11, schedule, [0.0, 16 * 1440.0])
