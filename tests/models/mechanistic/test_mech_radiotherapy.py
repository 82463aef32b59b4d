"""Radiotherapy kernel against closed-form growth, LQ survival and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from models.mechanistic.errors import MechanisticInputError
from models.mechanistic.radiotherapy import RadiotherapyTwin, simulate_tumour, weekday_schedule
from models.mechanistic.radiotherapy_kernels import tumour_integrate, tumour_integrate_batch

PARAMS = np.array([np.log(2) / 20.0, 500.0, 0.12, 0.012])  # r, K, alpha, beta
SAMPLES = np.linspace(0.0, 180.0, 181)


def grow(v: float, dt: float, model: int, p: np.ndarray = PARAMS) -> float:
    r, k = p[0], p[1]
    if model == 0:
        return k / (1 + (k / v - 1) * np.exp(-r * dt))
    return k * np.exp(np.log(v / k) * np.exp(-r * dt))


def reference(
    v0: float, times: np.ndarray, doses: np.ndarray, model: int
) -> tuple[np.ndarray, float]:
    """Closed-form volumes at SAMPLES and the logistic time to progression."""
    r, k, a, b = PARAMS
    events = sorted(set(SAMPLES) | set(times))
    out, v, t_prev, level, ttp = {}, v0, 0.0, None, SAMPLES[-1]
    for t in events:
        v_before = grow(v, t - t_prev, model)
        if level is not None and ttp == SAMPLES[-1] and v < level <= v_before and model == 0:
            ttp = t_prev + np.log(level * (k - v) / (v * (k - level))) / r
        v = v_before
        for tf, d in zip(times, doses, strict=True):
            if tf == t:
                level = v if level is None else level
                v *= np.exp(-a * d - b * d * d)
        out[t] = v
        t_prev = t
    return np.array([out[t] for t in SAMPLES]), ttp


@pytest.mark.parametrize("model", [0, 1])
def test_matches_closed_form(model: int) -> None:
    times = weekday_schedule(15)
    doses = np.full(15, 40.0 / 15)
    vols, ttp = tumour_integrate(PARAMS, model, 30.0, times, doses, 15, SAMPLES, 0.05)
    ref, ref_ttp = reference(30.0, times, doses, model)
    np.testing.assert_allclose(vols, ref, rtol=1e-6)
    assert np.all(vols > 0)
    if model == 0:
        assert 20.0 < ttp < 180.0
        assert abs(ttp - ref_ttp) < 1e-4  # far inside one output sample (1 day)


def test_lq_survival_fractions() -> None:
    no_growth = PARAMS.copy()
    no_growth[0] = 0.0
    a, b = PARAMS[2], PARAMS[3]
    for total, n in ((60.0, 30), (40.0, 15)):
        d = total / n
        vols, _ = tumour_integrate(
            no_growth, 0, 10.0, weekday_schedule(n), np.full(n, d), n, SAMPLES, 0.1
        )
        bed = total * (1 + d / (a / b))
        assert vols[-1] / 10.0 == pytest.approx(np.exp(-a * bed), rel=1e-12)


def test_scipy_reference_gompertz_piecewise() -> None:
    times = weekday_schedule(30)
    doses = np.full(30, 2.0)
    r, k, a, b = PARAMS
    vols, _ = tumour_integrate(PARAMS, 1, 30.0, times, doses, 30, SAMPLES, 0.05)
    v, out = 30.0, []
    edges = np.concatenate([times, [SAMPLES[-1]]])
    t_prev = 0.0
    for i, edge in enumerate(edges):
        inside = (t_prev <= SAMPLES) & (edge > SAMPLES) if i else SAMPLES < 0
        if edge > t_prev:
            sol = solve_ivp(
                lambda _t, y: r * y * np.log(k / y),
                (t_prev, edge),
                [v],
                method="DOP853",
                rtol=1e-12,
                atol=1e-14,
                dense_output=True,
            )
            out.extend(sol.sol(SAMPLES[inside])[0])
            v = sol.y[0, -1]
        if i < len(times):
            v *= np.exp(-a * doses[i] - b * doses[i] ** 2)
        t_prev = edge
    out.append(v)
    np.testing.assert_allclose(vols, np.array(out), rtol=1e-6)


def test_fourth_order_convergence() -> None:
    times = weekday_schedule(15)
    doses = np.full(15, 40.0 / 15)
    ref, _ = reference(30.0, times, doses, 0)
    errors = []
    for dt in (1.0, 0.5, 0.25):
        vols, _ = tumour_integrate(PARAMS, 0, 30.0, times, doses, 15, SAMPLES, dt)
        errors.append(np.max(np.abs(vols - ref) / ref))
    ratios = errors[0] / errors[1], errors[1] / errors[2]
    assert all(13.0 < q < 19.0 for q in ratios), ratios


def test_batch_equals_single() -> None:
    rng = np.random.default_rng(9)
    n, m = 10, 35
    params = np.tile(PARAMS, (n, 1)) * rng.uniform(0.5, 1.5, (n, 4))
    v0 = rng.uniform(5, 100, n)
    n_fx = rng.integers(1, m + 1, n)
    times = np.tile(weekday_schedule(m), (n, 1))
    doses = rng.uniform(1.5, 3.0, (n, m))
    for model in (0, 1):
        vols, ttp = tumour_integrate_batch(params, model, v0, times, doses, n_fx, SAMPLES, 0.1)
        for i in range(n):
            one, t = tumour_integrate(
                params[i], model, v0[i], times[i], doses[i], n_fx[i], SAMPLES, 0.1
            )
            assert np.array_equal(vols[i], one) and ttp[i] == t


def test_twin_outputs_and_validation() -> None:
    twin = RadiotherapyTwin()
    assert twin.fit() is twin
    X = np.array([[30.0, 20.0, 0.1, 10.0, 60.0, 30.0], [30.0, 20.0, 0.1, 10.0, 40.0, 15.0]])
    out = twin.predict_all(X)
    times, curve = twin.trajectory(X[0])
    assert curve[-1] == pytest.approx(out[0, 0], rel=1e-12) and times[-1] == 180.0
    for k, name in enumerate(twin.output_names):
        assert np.array_equal(twin.predict_outputs(X, name), out[:, k])
    assert np.all(out[:, 1] <= 180.0) and np.all(out > 0)
    # the time to progression is bracketed by the daily trajectory samples
    _, curve_40 = twin.trajectory(X[1])
    assert out[1, 1] < 180.0
    i = int(np.searchsorted(times, out[1, 1]))
    assert curve_40[i - 1] < 30.0 <= curve_40[i]
    with pytest.raises(MechanisticInputError, match="total_dose"):
        twin.predict_outputs(np.array([[30.0, 20.0, 0.1, 10.0, -2.0, 30.0]]), "volume_day_180")
    with pytest.raises(MechanisticInputError, match="horizon_days"):
        RadiotherapyTwin(horizon_days=1e5).predict_outputs(X, "time_to_progression")
    with pytest.raises(MechanisticInputError, match="fraction_times"):
        simulate_tumour(PARAMS, 30.0, [5.0, 1.0], [2.0, 2.0], SAMPLES)
    with pytest.raises(MechanisticInputError, match="non-empty"):
        simulate_tumour(PARAMS, 30.0, [0.0], [2.0], [])
    with pytest.raises(MechanisticInputError, match="fraction_doses"):
        simulate_tumour(PARAMS, 30.0, [0.0], [-2.0], SAMPLES)
    vols, ttp = simulate_tumour(PARAMS, 30.0, [0.0, 1.0], [2.0, 2.0], SAMPLES)
    assert vols.shape == SAMPLES.shape and 0 < ttp < 180
