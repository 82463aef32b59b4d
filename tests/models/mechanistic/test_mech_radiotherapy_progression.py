"""Time to progression: reported iff the volume exceeds the pre-treatment volume (the
volume at time 0, before any fraction), at the time an independent dense solve finds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from models.mechanistic.radiotherapy import RadiotherapyTwin, simulate_tumour, weekday_schedule
from models.mechanistic.radiotherapy_kernels import tumour_integrate

HORIZON = 180.0
SAMPLES = np.linspace(0.0, HORIZON, 181)


def dense_progression(
    params: np.ndarray, model: int, v0: float, times: np.ndarray, doses: np.ndarray
) -> tuple[float | None, float]:
    """scipy (DOP853, dense output) piece by piece between fractions: the first time the
    volume exceeds ``v0`` (None if never within the horizon) and the largest volume."""
    r, k, a, b = params

    def rate(_t: float, y: np.ndarray) -> np.ndarray:
        v = max(float(y[0]), 1e-300)  # the solver may probe past zero
        return np.array([r * v * (np.log(k / v) if model else 1.0 - v / k)])

    edges = [0.0, *[t for t in times if t < HORIZON], HORIZON]
    v, peak, due = v0, v0, 0
    for start, end in itertools.pairwise(edges):
        while due < len(times) and times[due] <= start:
            v *= np.exp(-a * doses[due] - b * doses[due] ** 2)
            due += 1
        if end <= start:
            continue
        sol = solve_ivp(
            rate, (start, end), [v], "DOP853", rtol=1e-12, atol=1e-14, dense_output=True
        )
        curve, v_end = sol.sol, float(sol.y[0, -1])
        if v >= v0 and v_end > v0:  # grows from the pre-treatment volume at once
            return start, v_end
        if v_end > v0:
            return float(brentq(lambda t, c=curve: c(t)[0] - v0, start, end, xtol=1e-13)), v_end
        peak, v = max(peak, v_end), v_end
    return None, peak


def schedules() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """No fractions, zero doses, late starts, gaps, random doses."""
    rng = np.random.default_rng(19)
    out = [
        ("none", np.empty(0), np.empty(0)),
        ("zero dose", weekday_schedule(30), np.zeros(30)),
        ("zero first then dose", weekday_schedule(10), np.r_[0.0, np.full(9, 3.0)]),
        ("late start", weekday_schedule(30, start_day=28.0), np.full(30, 2.0)),
        ("late single", np.array([60.0]), np.array([8.0])),
        ("standard", weekday_schedule(30), np.full(30, 2.0)),
        ("hypofractionated", weekday_schedule(5), np.full(5, 8.0)),
        ("tiny", weekday_schedule(5), np.full(5, 0.01)),
    ]
    for i in range(12):
        n = int(rng.integers(1, 40))
        start = float(rng.choice([0.0, rng.uniform(0.0, 100.0)]))
        gaps = rng.choice(np.arange(0.5, 150.0, 0.5), n - 1, replace=False)
        times = np.r_[0.0, np.sort(gaps)] + start
        out.append(
            (f"random {i}", times[times < HORIZON], rng.uniform(0.0, 6.0, n)[times < HORIZON])
        )
    return out


@pytest.mark.parametrize("model", [0, 1])
@pytest.mark.parametrize(("label", "times", "doses"), schedules(), ids=[s[0] for s in schedules()])
def test_progression_iff_volume_exceeds_pre_treatment(
    model: int, label: str, times: np.ndarray, doses: np.ndarray
) -> None:
    params = np.array([np.log(2) / 20.0, 2000.0, 0.12, 0.012])
    v0 = 30.0
    vols, ttp = tumour_integrate(params, model, v0, times, doses, times.size, SAMPLES, 0.05)
    expected, peak = dense_progression(params, model, v0, times, doses)
    if expected is None:
        assert ttp == HORIZON, (label, ttp)
        assert np.all(vols <= v0 * (1 + 1e-9)), label
    else:
        assert peak > v0 and abs(ttp - expected) < 1e-6, (label, ttp, expected)
        assert ttp < HORIZON


def test_untreated_arm_progresses_at_once() -> None:
    """Total dose 0: the tumour grows from its pre-treatment volume at time 0."""
    twin = RadiotherapyTwin()
    row = np.array([[30.0, 20.0, 0.1, 10.0, 0.0, 30.0]])
    volume, ttp = twin.predict_all(row)[0]
    assert volume > 30.0 and ttp == pytest.approx(0.0, abs=1e-9)
    params = np.array([np.log(2) / 20.0, 2000.0, 0.1, 0.01])
    _, no_fractions = simulate_tumour(params, 30.0, [], [], SAMPLES)
    assert no_fractions == pytest.approx(0.0, abs=1e-9)


def test_no_growth_never_progresses() -> None:
    """A tumour that cannot grow never exceeds its pre-treatment volume: censored."""
    params = np.array([0.0, 2000.0, 0.1, 0.01])
    vols, ttp = simulate_tumour(params, 30.0, [0.0], [0.0], SAMPLES)
    assert ttp == HORIZON and np.all(vols == 30.0)


@pytest.mark.parametrize("growth", ["logistic", "gompertz"])
def test_twin_rows_match_the_dense_solve(growth: str) -> None:
    """The served twin over its input box (total dose 0 included): same answer, same time."""
    rng = np.random.default_rng(20)
    twin = RadiotherapyTwin(growth=growth)
    lows = np.array([b[0] for b in twin.input_bounds])
    highs = np.array([b[1] for b in twin.input_bounds])
    rows = rng.uniform(lows, highs, (24, 6))
    rows[:, 0] = rng.uniform(1.0, 200.0, 24)
    rows[:, 1] = rng.uniform(5.0, 200.0, 24)
    rows[:, 5] = np.round(rows[:, 5])
    rows[:, 4] = np.minimum(rows[:, 4], 3.0 * rows[:, 5])
    rows[:4, 4] = 0.0
    out = twin.predict_all(rows)
    for row, (_, ttp) in zip(rows, out, strict=True):
        n = int(row[5])
        params = np.array([np.log(2) / row[1], twin.carrying_capacity, row[2], row[2] / row[3]])
        times, doses = weekday_schedule(n), np.full(n, row[4] / n)
        expected, _ = dense_progression(params, int(growth == "gompertz"), row[0], times, doses)
        if expected is None:
            assert ttp == HORIZON, row
        else:
            assert abs(ttp - expected) < 1e-6, (row, ttp, expected)
