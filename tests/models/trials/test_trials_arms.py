"""An arm's outputs against independent integrations of the same patients: scipy's
solve_ivp on the two-compartment equations, and the mechanistic twin's RK4 kernel."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from models.mechanistic.pk import DosingRegimen, simulate_two_compartment
from models.mechanistic.pk_kernels import ROUTE_INFUSION
from models.trials import CohortPrior, Regimen, TrialInputError, draw, simulate_arm
from models.trials.arms import output_index

REGIMENS = (
    Regimen(interval_h=12, infusion_h=1, n_doses=6, dose_mg_per_kg=15),
    Regimen(interval_h=8, infusion_h=2, n_doses=9, dose_mg=1250),
    Regimen(interval_h=16, infusion_h=1.5, n_doses=3, dose_mg=2000),  # stops before 72 h
)


def _reference(
    cl: float, v1: float, q: float, v2: float, dose: float, regimen: Regimen, horizon: float
) -> tuple[float, float, float]:
    """solve_ivp piece by piece (infusion on / off), tight tolerances."""
    starts = regimen.dose_starts(horizon)
    n_int = min(regimen.n_doses, int(horizon // regimen.interval_h))
    trough_at = regimen.interval_h * n_int
    fixed = [0.0, horizon - 24.0, trough_at, horizon]
    cuts = np.unique(np.concatenate([fixed, starts, starts + regimen.infusion_h]))
    cuts = cuts[cuts <= horizon]
    rate = dose / regimen.infusion_h

    def rhs(t: float, y: np.ndarray, r: float) -> list[float]:
        a1, a2, _ = y
        return [r - (cl + q) / v1 * a1 + q / v2 * a2, q / v1 * a1 - q / v2 * a2, a1 / v1]

    y = np.zeros(3)
    state_at = {0.0: y.copy()}
    for t0, t1 in itertools.pairwise(cuts):
        on = np.any((starts <= t0) & (starts + regimen.infusion_h >= t1))
        sol = solve_ivp(rhs, (t0, t1), y, args=(rate if on else 0.0,), rtol=1e-11, atol=1e-11)
        y = sol.y[:, -1]
        state_at[float(t1)] = y.copy()
    trough = state_at[trough_at][0] / v1
    ends = [float(e) for e in starts + regimen.infusion_h if e <= horizon] + [horizon]
    peak = max(state_at[e][0] / v1 for e in ends)
    auc24 = state_at[horizon][2] - state_at[horizon - 24.0][2]
    return auc24, trough, peak


@pytest.mark.parametrize("regimen", REGIMENS, ids=lambda r: r.describe())
def test_each_patients_outputs_equal_solve_ivp(regimen: Regimen) -> None:
    cohort = draw(CohortPrior(size=600, seed=21, dialysis_fraction=0.3))
    outputs = simulate_arm(cohort, regimen)
    cl, v1, q, v2 = cohort.kinetic_parameters()
    doses = regimen.doses_mg(cohort.weight_kg)
    for i in range(0, 600, 97):
        expected = _reference(cl[i], v1[i], q[i], v2[i], doses[i], regimen, 72.0)
        np.testing.assert_allclose(outputs[i], expected, rtol=1e-7)


def test_outputs_equal_the_mechanistic_twins_rk4_kernel() -> None:
    cohort = draw(CohortPrior(size=50, seed=2))
    regimen = REGIMENS[0]
    outputs = simulate_arm(cohort, regimen, horizon_h=96.0)
    cl, v1, q, v2 = cohort.kinetic_parameters()
    doses = regimen.doses_mg(cohort.weight_kg)
    for i in (0, 17, 49):
        schedule = DosingRegimen.repeated(doses[i], 12.0, 6, ROUTE_INFUSION, 1.0)
        params = np.array([cl[i], v1[i], q[i], v2[i], 1.0, 1.0])
        states = simulate_two_compartment(params, schedule, [71.0, 72.0, 96.0], 0.01)
        auc24 = states[2, 3] - states[1, 3]
        assert outputs[i, output_index("auc24")] == pytest.approx(auc24, rel=1e-6)
        # 6 doses q12h: the last full interval ends at 72 h
        assert outputs[i, output_index("trough")] == pytest.approx(states[1, 1] / v1[i], rel=1e-6)
        assert outputs[i, output_index("peak")] >= states[0, 1] / v1[i]


def test_exposure_is_proportional_to_the_dose_and_a_chunk_equals_its_rows() -> None:
    cohort = draw(CohortPrior(size=3_000, seed=9))
    single = simulate_arm(cohort, Regimen(12, 1, 6, dose_mg=1000))
    double = simulate_arm(cohort, Regimen(12, 1, 6, dose_mg=2000))
    np.testing.assert_allclose(double, 2.0 * single, rtol=1e-12)
    np.testing.assert_array_equal(simulate_arm(cohort.slice(700, 1_300), REGIMENS[0]),
                                  simulate_arm(cohort, REGIMENS[0])[700:1_300])  # fmt: skip


def test_a_horizon_shorter_than_a_day_is_refused() -> None:
    cohort = draw(CohortPrior(size=10, seed=0))
    with pytest.raises(TrialInputError) as caught:
        simulate_arm(cohort, REGIMENS[0], horizon_h=12.0)
    assert caught.value.field == "horizon_h"
