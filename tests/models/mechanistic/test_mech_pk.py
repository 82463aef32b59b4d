"""Two-compartment PK kernel against closed forms, scipy, and physical sanity."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

from models.mechanistic.errors import MechanisticInputError
from models.mechanistic.pk import (
    MAX_HORIZON_H,
    DosingRegimen,
    VancomycinTwin,
    simulate_two_compartment,
)
from models.mechanistic.pk_kernels import (
    pk_integrate,
    pk_integrate_batch,
    pk_steady_state,
    pk_steady_state_batch,
)

PARAMS = np.array([4.0, 50.0, 6.5, 38.4, 1.2, 0.8])  # CL, V1, Q, V2, ka, F


def _macro(p: np.ndarray) -> tuple[float, float, float, float]:
    cl, v1, q, v2 = p[:4]
    k10, k12, k21 = cl / v1, q / v1, q / v2
    s = k10 + k12 + k21
    root = np.sqrt(s * s - 4 * k10 * k21)
    alpha, beta = (s + root) / 2, (s - root) / 2
    return alpha, beta, k21, v1


def closed_form(p: np.ndarray, reg: DosingRegimen, t: np.ndarray) -> np.ndarray:
    """Central concentration by superposition of the textbook two-compartment solutions."""
    alpha, beta, k21, v1 = _macro(p)
    a_coef = (alpha - k21) / (alpha - beta)
    b_coef = (k21 - beta) / (alpha - beta)
    ka, f = p[4], p[5]

    def infusion_from(rate: float, s: np.ndarray) -> np.ndarray:
        s = np.maximum(s, 0.0)
        return (
            rate
            / v1
            * (a_coef / alpha * (1 - np.exp(-alpha * s)) + b_coef / beta * (1 - np.exp(-beta * s)))
        )

    conc = np.zeros_like(t)
    for t0, amt, route, dur in zip(reg.times, reg.amounts, reg.routes, reg.durations, strict=True):
        s = t - t0
        on = s >= 0
        if route == 0:
            conc += np.where(
                on, amt / v1 * (a_coef * np.exp(-alpha * s) + b_coef * np.exp(-beta * s)), 0
            )
        elif route == 1:
            rate = amt / dur
            conc += infusion_from(rate, s) - infusion_from(rate, s - dur)
        else:
            sp = np.maximum(s, 0.0)
            terms = (
                (k21 - alpha) / ((ka - alpha) * (beta - alpha)) * np.exp(-alpha * sp)
                + (k21 - beta) / ((ka - beta) * (alpha - beta)) * np.exp(-beta * sp)
                + (k21 - ka) / ((alpha - ka) * (beta - ka)) * np.exp(-ka * sp)
            )
            conc += np.where(on, f * amt * ka / v1 * terms, 0)
    return conc


def mixed_regimen() -> DosingRegimen:
    return DosingRegimen.from_arrays(
        [0.0, 3.3, 8.0, 12.0, 12.0, 30.5],
        [500.0, 750.0, 400.0, 1000.0, 200.0, 600.0],
        [0, 1, 2, 1, 0, 2],
        [0.0, 1.7, 0.0, 2.0, 0.0, 0.0],
    )


SAMPLES = np.linspace(0.0, 72.0, 289)


def _integrate(
    reg: DosingRegimen, samples: np.ndarray, dt: float, p: np.ndarray = PARAMS
) -> np.ndarray:
    return pk_integrate(
        p, reg.times, reg.amounts, reg.routes, reg.durations, reg.times.size, samples, dt
    )


def test_matches_closed_form_superposition() -> None:
    reg = mixed_regimen()
    conc = _integrate(reg, SAMPLES, 0.02)[:, 1] / PARAMS[1]
    ref = closed_form(PARAMS, reg, SAMPLES)
    np.testing.assert_allclose(conc, ref, rtol=1e-6, atol=1e-9 * ref.max())
    assert np.all(conc >= 0.0)


def test_one_compartment_closed_form() -> None:
    p = np.array([5.0, 40.0, 0.0, 10.0, 1.0, 1.0])
    reg = DosingRegimen.from_arrays([0.0, 8.0], [1000.0, 1000.0], [0, 0])
    conc = _integrate(reg, SAMPLES, 0.02, p)[:, 1] / p[1]
    k = 5.0 / 40.0
    ref = 25.0 * np.exp(-k * SAMPLES) + np.where(SAMPLES >= 8, 25.0 * np.exp(-k * (SAMPLES - 8)), 0)
    np.testing.assert_allclose(conc, ref, rtol=1e-6)


def test_auc_closed_form_and_mass_balance() -> None:
    reg = mixed_regimen()
    states = _integrate(reg, SAMPLES, 0.02)
    events = np.concatenate([reg.times, reg.times + reg.durations])

    def conc_at(t: float) -> float:
        return float(closed_form(PARAMS, reg, np.array([t]))[0])

    pieces = []
    for a, b in itertools.pairwise(SAMPLES):
        inner = events[(events > a) & (events < b)]
        points = list(inner) if inner.size else None
        pieces.append(quad(conc_at, a, b, points=points, epsabs=0, epsrel=1e-12)[0])
    auc_ref = np.concatenate([[0.0], np.cumsum(pieces)])
    np.testing.assert_allclose(states[1:, 3], auc_ref[1:], rtol=1e-6)
    given = np.zeros_like(SAMPLES)
    for t0, amt, route, dur in zip(reg.times, reg.amounts, reg.routes, reg.durations, strict=True):
        frac = np.clip((SAMPLES - t0) / dur, 0, 1) if route == 1 else (t0 <= SAMPLES) * 1.0
        given += frac * amt * (PARAMS[5] if route == 2 else 1.0)
    total = states[:, 0] + states[:, 1] + states[:, 2] + states[:, 4]
    np.testing.assert_allclose(total, given, rtol=1e-10, atol=1e-9)
    assert np.all(states[:, :3] >= 0.0)


def test_scipy_reference_piecewise_between_events() -> None:
    reg = mixed_regimen()
    cl, v1, q, v2, ka, f = PARAMS
    events = np.unique(np.concatenate([[0.0, 72.0], reg.times, reg.times + reg.durations]))
    y = np.zeros(3)
    out = np.empty((SAMPLES.size, 3))
    for a, b in itertools.pairwise(events):
        for t0, amt, route in zip(reg.times, reg.amounts, reg.routes, strict=True):
            if t0 == a and route == 0:
                y[1] += amt
            elif t0 == a and route == 2:
                y[0] += f * amt
        rate = sum(
            amt / dur
            for t0, amt, route, dur in zip(
                reg.times, reg.amounts, reg.routes, reg.durations, strict=True
            )
            if route == 1 and t0 <= a and t0 + dur >= b
        )

        def rhs(_t: float, s: np.ndarray, rate: float = rate) -> list[float]:
            return [
                -ka * s[0],
                ka * s[0] - (cl + q) / v1 * s[1] + q / v2 * s[2] + rate,
                q / v1 * s[1] - q / v2 * s[2],
            ]

        inside = (a <= SAMPLES) & (b > SAMPLES)
        sol = solve_ivp(
            rhs, (a, b), y, method="DOP853", rtol=1e-11, atol=1e-12, t_eval=SAMPLES[inside]
        )
        out[inside] = sol.y.T
        y = (
            sol.y[:, -1]
            if sol.t.size and sol.t[-1] == b
            else solve_ivp(rhs, (a, b), y, method="DOP853", rtol=1e-11, atol=1e-12).y[:, -1]
        )
    out[-1] = y
    states = _integrate(reg, SAMPLES, 0.02)
    np.testing.assert_allclose(states[:, 1], out[:, 1], rtol=1e-6, atol=1e-9 * out[:, 1].max())


def test_fourth_order_convergence() -> None:
    # events and samples on a 0.5 h grid, so halving dt halves every step exactly
    reg = DosingRegimen.from_arrays(
        [0.0, 3.5, 8.0, 12.0, 12.0, 30.5],
        [500.0, 750.0, 400.0, 1000.0, 200.0, 600.0],
        [0, 1, 2, 1, 0, 2],
        [0.0, 1.5, 0.0, 2.0, 0.0, 0.0],
    )
    samples = np.arange(0.0, 72.5, 2.0)
    ref = closed_form(PARAMS, reg, samples)
    errors = [
        np.max(np.abs(_integrate(reg, samples, dt)[:, 1] / PARAMS[1] - ref))
        for dt in (0.25, 0.125, 0.0625)
    ]
    ratios = errors[0] / errors[1], errors[1] / errors[2]
    assert all(13.0 < r < 19.0 for r in ratios), ratios


def test_steady_state_matches_closed_form_accumulation() -> None:
    amount, dur, tau = 1000.0, 1.0, 12.0
    out = pk_steady_state(PARAMS, amount, 1, dur, tau, 0.02)
    reg = DosingRegimen.repeated(amount, tau, 50, 1, dur)
    last = 49 * tau
    t = np.array([last + dur, last + tau - 1e-9])
    c = closed_form(PARAMS, reg, t)
    np.testing.assert_allclose(out[1:], c, rtol=1e-6)
    np.testing.assert_allclose(out[0], 2 * amount / PARAMS[0], rtol=1e-8)
    bolus = pk_steady_state(PARAMS, amount, 0, 0.0, tau, 0.02)
    np.testing.assert_allclose(bolus[0], 2 * amount / PARAMS[0], rtol=1e-8)
    oral = pk_steady_state(PARAMS, amount, 2, 0.0, tau, 0.02)
    np.testing.assert_allclose(oral[0], 2 * PARAMS[5] * amount / PARAMS[0], rtol=1e-8)
    reg_oral = DosingRegimen.repeated(amount, tau, 50, 2)
    np.testing.assert_allclose(oral[2], closed_form(PARAMS, reg_oral, t[1:])[0], rtol=1e-6)


def test_batch_equals_single_patient() -> None:
    rng = np.random.default_rng(3)
    n, m = 12, 8
    params = np.tile(PARAMS, (n, 1)) * rng.uniform(0.6, 1.4, (n, 6))
    params[:, 5] = np.clip(params[:, 5], 0, 1)
    times = np.sort(rng.uniform(0, 48, (n, m)), axis=1)
    amounts = rng.uniform(0, 1000, (n, m))
    routes = rng.integers(0, 3, (n, m))
    durations = rng.uniform(0.5, 3, (n, m))
    n_doses = rng.integers(1, m + 1, n)
    batch = pk_integrate_batch(params, times, amounts, routes, durations, n_doses, SAMPLES, 0.05)
    for i in range(n):
        single = pk_integrate(
            params[i], times[i], amounts[i], routes[i], durations[i], n_doses[i], SAMPLES, 0.05
        )
        assert np.array_equal(batch[i], single)
    taus = rng.uniform(8, 24, n)
    ss = pk_steady_state_batch(params, amounts[:, 0], routes[:, 0], durations[:, 0], taus, 0.05)
    for i in range(n):
        one = pk_steady_state(
            params[i], amounts[i, 0], routes[i, 0], durations[i, 0], taus[i], 0.05
        )
        assert np.array_equal(ss[i], one)


def test_vancomycin_twin_outputs() -> None:
    twin = VancomycinTwin()
    assert twin.fit() is twin
    X = np.array(
        [
            [100.0, 70.0, 1000.0, 12.0],
            [40.0, 95.0, 1500.0, 24.0],
            [120.0, 70.0, 0.0, 8.0],
            [190.0, 70.0, 1000.0, 12.0],  # used as 150, the source model's truncation
        ]
    )
    auc = twin.predict_outputs(X, "auc24")
    cl = 4.5 * (np.minimum(X[:, 0], 150.0) / 120.0) ** 0.8
    np.testing.assert_allclose(auc, X[:, 2] * 24 / X[:, 3] / cl, rtol=1e-8)
    all_outputs = twin.predict_all(X)
    for k, name in enumerate(twin.output_names):
        assert np.array_equal(twin.predict_outputs(X, name), all_outputs[:, k])
    assert np.all(all_outputs[:2, 1] > all_outputs[:2, 2])
    times, conc = twin.trajectory(X[0], horizon_h=48.0)
    assert times.shape == conc.shape and np.all(conc >= 0)
    dialysis = VancomycinTwin(dialysis=True).predict_outputs(X[:1], "auc24")
    assert dialysis[0] > auc[0]


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ([100.0, 70.0, -5.0, 12.0], "dose_mg"),
        ([1.0, 70.0, 1000.0, 12.0], "creatinine_clearance"),
        ([100.0, 500.0, 1000.0, 12.0], "weight"),
        ([100.0, 70.0, 1000.0, 0.5], "interval_h"),
    ],
)
def test_vancomycin_rejects_out_of_range(row: list[float], field: str) -> None:
    with pytest.raises(MechanisticInputError) as info:
        VancomycinTwin().predict_outputs(np.array([row]), "auc24")
    assert info.value.field == field and "[" in info.value.allowed
    assert isinstance(info.value, ValueError)


def test_regimen_and_solver_caps_rejected() -> None:
    with pytest.raises(MechanisticInputError, match="dose_amounts"):
        DosingRegimen.from_arrays([0.0], [-1.0], [0])
    with pytest.raises(MechanisticInputError, match="non-empty"):
        DosingRegimen.from_arrays([], [], [])
    with pytest.raises(MechanisticInputError, match="order"):
        DosingRegimen.from_arrays([5.0, 1.0], [1.0, 1.0], [0, 0])
    with pytest.raises(MechanisticInputError, match="durations"):
        DosingRegimen.from_arrays([0.0], [1.0], [1], [0.0])
    reg = DosingRegimen.from_arrays([0.0], [100.0], [0])
    with pytest.raises(MechanisticInputError, match="sample_times"):
        simulate_two_compartment(PARAMS, reg, [0.0, MAX_HORIZON_H + 1], 0.05)
    with pytest.raises(MechanisticInputError, match="steps"):
        simulate_two_compartment(PARAMS, reg, [0.0, MAX_HORIZON_H], 1e-4)
    with pytest.raises(MechanisticInputError, match="CL"):
        simulate_two_compartment(PARAMS * [0, 1, 1, 1, 1, 1], reg, [0.0, 1.0], 0.05)
    with pytest.raises(MechanisticInputError, match="output"):
        VancomycinTwin().predict_outputs(np.array([[100.0, 70.0, 1000.0, 12.0]]), "auc")
    out = simulate_two_compartment(PARAMS, reg, [0.0, 1.0], 0.05)
    assert out.shape == (2, 5)
