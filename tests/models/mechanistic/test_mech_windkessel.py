"""Windkessel kernel against its closed-form periodic steady state."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize_scalar

from models.mechanistic.errors import MechanisticInputError
from models.mechanistic.windkessel import WindkesselTwin, ejection_time_s
from models.mechanistic.windkessel_kernels import windkessel_batch, windkessel_beat

PARAMS = np.array([0.05, 1.0, 1.5, 60.0 / 72.0, 0.3, 70.0])


class ClosedForm:
    """Exact periodic solution of the linear ODE with half-sine inflow."""

    def __init__(self, p: np.ndarray) -> None:
        self.rc, rp, c, self.period, self.ts, sv = p
        self.tau = rp * c
        self.omega = np.pi / self.ts
        self.q_max = np.pi * sv / (2 * self.ts)
        self.k = self.q_max / c
        e_s = np.exp(-self.ts / self.tau)
        e_d = np.exp(-(self.period - self.ts) / self.tau)
        self.p0 = (self._particular(self.ts) - self._particular(0.0) * e_s) * e_d / (1 - e_s * e_d)
        self.p_ts = self._pc_systole(self.ts)

    def _particular(self, t: float) -> float:
        a = 1 / self.tau
        return (
            self.k
            * (a * np.sin(self.omega * t) - self.omega * np.cos(self.omega * t))
            / (a * a + self.omega**2)
        )

    def _pc_systole(self, t: float) -> float:
        return (self.p0 - self._particular(0.0)) * np.exp(-t / self.tau) + self._particular(t)

    def aortic(self, t: float) -> float:
        if t < self.ts:
            return self._pc_systole(t) + self.rc * self.q_max * np.sin(self.omega * t)
        return self.p_ts * np.exp(-(t - self.ts) / self.tau)

    def outputs(self) -> np.ndarray:
        peak = minimize_scalar(
            lambda t: -self.aortic(t),
            bounds=(0.0, self.ts),
            method="bounded",
            options={"xatol": 1e-12},
        )
        low = min(
            minimize_scalar(
                self.aortic, bounds=(0.0, self.ts), method="bounded", options={"xatol": 1e-12}
            ).fun,
            self.aortic(self.period - 1e-15),
        )
        area = quad(self.aortic, 0, self.ts, epsrel=1e-13)[0]
        area += quad(self.aortic, self.ts, self.period, epsrel=1e-13)[0]
        return np.array([-peak.fun, low, area / self.period])


def test_steady_state_matches_closed_form() -> None:
    for p in (PARAMS, np.array([0.08, 1.4, 0.7, 0.5, 0.2, 55.0])):
        wave, out = windkessel_beat(p, 2000)
        ref = ClosedForm(p)
        np.testing.assert_allclose(out, ref.outputs(), rtol=1e-6)
        times = _times(p, 2000)
        exact = np.array([ref.aortic(t) for t in times[:-1]])
        np.testing.assert_allclose(wave[:-1], exact, rtol=1e-8)
        assert wave[0] == pytest.approx(wave[-1], rel=1e-12)


def test_mean_pressure_is_flow_times_resistance() -> None:
    _, out = windkessel_beat(PARAMS, 500)
    rc, rp, _, period, _, sv = PARAMS
    assert out[2] == pytest.approx(sv / period * rp + rc * sv / period, rel=1e-10)


def _times(p: np.ndarray, n: int) -> np.ndarray:
    n_sys = round(n * p[4] / p[3])
    return np.concatenate(
        [np.linspace(0, p[4], n_sys + 1), np.linspace(p[4], p[3], n - n_sys + 1)[1:]]
    )


def test_fourth_order_convergence() -> None:
    ref = ClosedForm(PARAMS)
    # T_s / T = 0.36: with n = 100, 200, 400 both phases halve their steps exactly
    errors = []
    for n in (100, 200, 400):
        wave, _ = windkessel_beat(PARAMS, n)
        exact = np.array([ref.aortic(t) for t in _times(PARAMS, n)[:-1]])
        errors.append(np.max(np.abs(wave[:-1] - exact)))
    ratios = errors[0] / errors[1], errors[1] / errors[2]
    assert all(13.0 < r < 19.0 for r in ratios), ratios


def test_batch_equals_single() -> None:
    rng = np.random.default_rng(5)
    params = np.tile(PARAMS, (16, 1)) * rng.uniform(0.7, 1.3, (16, 6))
    batch = windkessel_batch(params, 400)
    for i in range(16):
        assert np.array_equal(batch[i], windkessel_beat(params[i], 400)[1])


def test_twin_outputs_and_validation() -> None:
    twin = WindkesselTwin()
    assert twin.fit() is twin
    X = np.array([[72.0, 70.0, 1.0, 1.5], [110.0, 45.0, 1.6, 0.6]])
    out = twin.predict_all(X)
    assert np.all(out[:, 0] > out[:, 2]) and np.all(out[:, 2] > out[:, 1]) and np.all(out > 0)
    for k, name in enumerate(twin.output_names):
        assert np.array_equal(twin.predict_outputs(X, name), out[:, k])
    times, wave = twin.trajectory(X[0])
    assert times.shape == wave.shape and times[-1] == pytest.approx(60 / 72)
    assert ejection_time_s(np.array([72.0]))[0] == pytest.approx(0.2906)
    with pytest.raises(MechanisticInputError, match="heart_rate"):
        twin.predict_outputs(np.array([[250.0, 70.0, 1.0, 1.5]]), "map")
    with pytest.raises(MechanisticInputError, match="n_steps"):
        WindkesselTwin(n_steps=10**7).predict_outputs(X, "map")
    with pytest.raises(MechanisticInputError, match="columns"):
        twin.predict_outputs(np.ones((2, 3)), "map")
