"""The radiotherapy calibration: its MAP against an independent scipy minimisation of the
objective rebuilt here on the twin's validated simulator, its Laplace SDs against a
finite-difference Hessian, recovery better than the prior on seeded virtual patients,
determinism (a replay is the same state), refusals naming what is missing, a failed fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from models.calibration import radiotherapy
from models.calibration.bench_radiotherapy import recovery, standard_fractions, virtual_course
from models.calibration.errors import RadiotherapyDataError
from models.calibration.radiotherapy import calibrate_radiotherapy
from models.calibration.radiotherapy_course import (
    DT_MAX_DAYS,
    Fraction,
    RadiotherapyCourse,
    Volume,
)
from models.calibration.radiotherapy_prior import (
    ALPHA_BETA_GY,
    CARRYING_CAPACITY_CM3,
    OMEGA,
    SIGMA_LOG,
    TYPICAL,
)
from models.mechanistic.radiotherapy import simulate_tumour

TRUTH = np.array([0.3, -0.5, 0.2])
SIGNS = ((1, 1), (1, -1), (-1, 1), (-1, -1))


@pytest.fixture(scope="module")
def course() -> RadiotherapyCourse:
    return virtual_course(TRUTH * OMEGA, np.random.default_rng(3), follow_up=True)


def rebuilt_objective(course: RadiotherapyCourse, eta: np.ndarray) -> float:
    """-2 log posterior + const, written out again on ``simulate_tumour``."""
    v0, r, alpha = TYPICAL * np.exp(eta)
    params = [r, CARRYING_CAPACITY_CM3, alpha, alpha / ALPHA_BETA_GY]
    times = [f.time_d for f in course.fractions]
    doses = [f.dose_gy for f in course.fractions]
    samples = [v.time_d for v in course.volumes]
    predicted, _ = simulate_tumour(params, v0, times, doses, samples, dt_max=DT_MAX_DAYS)
    measured = np.array([v.volume_cm3 for v in course.volumes])
    data = (np.log(measured) - np.log(predicted)) / SIGMA_LOG
    return float(data @ data + np.sum((eta / OMEGA) ** 2))


def fd_hessian(course: RadiotherapyCourse, eta: np.ndarray, h: float = 2e-3) -> np.ndarray:
    n = eta.size
    hess = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = h * np.eye(n)[i], h * np.eye(n)[j]
            f = [rebuilt_objective(course, eta + a * ei + b * ej) for a, b in SIGNS]
            hess[i, j] = (f[0] - f[1] - f[2] + f[3]) / (4 * h * h)
    return hess


def test_the_map_equals_an_independent_scipy_minimisation(course: RadiotherapyCourse) -> None:
    ours = calibrate_radiotherapy(course)
    posterior = ours.usable()
    coarse = minimize(lambda e: rebuilt_objective(course, e), np.zeros(3), method="Nelder-Mead",
                      options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})  # fmt: skip
    fine = minimize(lambda e: rebuilt_objective(course, e), coarse.x, method="BFGS",
                    options={"gtol": 1e-9})  # fmt: skip
    theirs = TYPICAL * np.exp(fine.x)
    mine = TYPICAL * np.exp(posterior.eta_array())
    np.testing.assert_allclose(mine, theirs, rtol=1e-4)
    assert ours.objective == pytest.approx(fine.fun, rel=1e-8)
    assert dict(posterior.parameters)["beta"] == pytest.approx(mine[2] / ALPHA_BETA_GY)


def test_laplace_sds_match_a_finite_difference_hessian(course: RadiotherapyCourse) -> None:
    posterior = calibrate_radiotherapy(course).usable()
    covariance = 2.0 * np.linalg.inv(fd_hessian(course, posterior.eta_array()))
    np.testing.assert_allclose(posterior.sd, np.sqrt(np.diag(covariance)), rtol=1e-3)
    np.testing.assert_allclose(posterior.covariance, covariance, rtol=1e-3, atol=1e-8)
    np.testing.assert_allclose(posterior.shrinkage, 1.0 - np.array(posterior.sd) / OMEGA)


def test_recovery_on_seeded_virtual_patients_beats_the_prior() -> None:
    figures = recovery(n_patients=30, follow_up=True, seed=7)
    assert figures["failed_fits"] == 0
    for ours, prior in zip(figures["median_abs_log_error"],
                           figures["prior_median_abs_log_error"], strict=True):  # fmt: skip
        assert ours < prior


def test_a_calibration_replays_to_the_same_state(course: RadiotherapyCourse) -> None:
    assert calibrate_radiotherapy(course) == calibrate_radiotherapy(course)


def _volumes(*pairs: tuple[float, float]) -> tuple[Volume, ...]:
    return tuple(Volume(t, v, f"v{i}") for i, (t, v) in enumerate(pairs))


@pytest.mark.parametrize(
    ("fractions", "volumes", "field", "problem"),
    [
        ((), _volumes((0.0, 30.0), (14.0, 20.0)), "radiotherapy_fraction", "missing"),
        (standard_fractions(), _volumes((0.0, 30.0)), "tumour_volume", "missing"),
        (standard_fractions(), _volumes((0.0, 30.0), (3.0, 31.0)), "tumour_volume", "missing"),
        (standard_fractions(), _volumes((0.0, 30.0), (14.0, 0.0)), "tumour_volume", "invalid"),
        ((*standard_fractions()[:2], Fraction(standard_fractions()[1].time_d, 2.0, "again")),
         _volumes((0.0, 30.0), (14.0, 20.0)), "radiotherapy_fraction", "contradictory"),
    ],
    ids=["no-fraction", "one-volume", "none-after-a-fraction", "zero-volume", "same-instant"],
)  # fmt: skip
def test_unusable_courses_say_what_is_missing(
    fractions: tuple[Fraction, ...], volumes: tuple[Volume, ...], field: str, problem: str
) -> None:
    with pytest.raises(RadiotherapyDataError) as caught:
        calibrate_radiotherapy(RadiotherapyCourse(fractions, volumes))
    assert (caught.value.field, caught.value.problem) == (field, problem)


def test_a_fit_that_does_not_converge_is_failed_without_a_posterior(
    course: RadiotherapyCourse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(radiotherapy, "MAX_ITERATIONS", 1)
    result = calibrate_radiotherapy(course)
    assert result.status == "failed" and result.posterior is None
    assert "no convergence" in result.message and math.isfinite(result.objective)
