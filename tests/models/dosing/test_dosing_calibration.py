"""The MAP and its Laplace posterior against an objective rebuilt here from the closed form.

The independent objective uses the published two-compartment infusion solution
(superposition of ``R/V1 * sum_i C_i/lambda_i (1 - e^-lambda_i t)`` terms; Gibaldi &
Perrier, Pharmacokinetics, 2nd ed., ch. 2) and Goti 2018's prior written out by hand, and
scipy's Nelder-Mead; none of models.dosing's prediction or objective code is used.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from models.dosing.calibration import calibrate
from models.dosing.history import Course, Infusion, Level, TimedValue
from models.dosing.simulate import virtual_patient

OMEGA2 = np.array([math.log(1 + 0.398**2), math.log(1 + 0.816**2), math.log(1 + 0.571**2)])


def closed_form_conc(
    t: float, doses: list[tuple[float, float, float]], cl: float, v1: float, q: float, v2: float
) -> float:
    k10, k12, k21 = cl / v1, q / v1, q / v2
    s = k10 + k12 + k21
    alpha = (s + math.sqrt(s * s - 4 * k10 * k21)) / 2
    beta = (s - math.sqrt(s * s - 4 * k10 * k21)) / 2
    coef = ((alpha, (alpha - k21) / (alpha - beta)), (beta, (k21 - beta) / (alpha - beta)))
    total = 0.0
    for amount, start, dur in doses:
        rate, since = amount / dur, t - start
        if since <= 0:
            continue
        for lam, c in coef:
            if since <= dur:
                total += rate / v1 * c / lam * (1 - math.exp(-lam * since))
            else:
                total += (
                    rate
                    / v1
                    * c
                    / lam
                    * (1 - math.exp(-lam * dur))
                    * math.exp(-lam * (since - dur))
                )
    return total


def independent_ofv(eta: np.ndarray, course: Course) -> float:
    crcl = min(course.creatinine_clearance[0].value, 150.0)
    weight = course.weight[0].value
    cl = 4.5 * (crcl / 120) ** 0.8 * math.exp(eta[0])
    v1 = 58.4 * weight / 70 * math.exp(eta[1])
    v2 = 38.4 * math.exp(eta[2])
    doses = [(d.amount_mg, d.start_h, d.duration_h) for d in course.infusions]
    total = float(np.sum(eta**2 / OMEGA2))
    for level in course.levels:
        f = closed_form_conc(level.time_h, doses, cl, v1, 6.5, v2)
        w = 3.4**2 + (0.227 * f) ** 2
        total += (level.concentration_mg_l - f) ** 2 / w + math.log(w)
    return total


def course_of(crcl: float, weight: float, dose: float, levels: list[tuple[float, float]]) -> Course:
    infusions = tuple(
        Infusion(dose, 12.0 * i, dose / 1000 if dose > 1000 else 1.0) for i in range(6)
    )
    return Course(
        infusions,
        tuple(Level(t, c, f"l{k}") for k, (t, c) in enumerate(levels)),
        (TimedValue(-2.0, crcl),),
        (TimedValue(-2.0, weight),),
    )


COURSES = [
    course_of(80.0, 70.0, 1000.0, [(38.0, 28.0), (47.5, 14.0)]),
    course_of(140.0, 95.0, 1500.0, [(38.0, 22.0), (47.5, 6.0)]),
    course_of(35.0, 55.0, 750.0, [(14.0, 30.0), (38.0, 45.0), (47.5, 33.0), (71.5, 38.0)]),
    course_of(190.0, 120.0, 1750.0, [(47.5, 3.0)]),  # CrCL above the cap: used as 150
    course_of(60.0, 80.0, 1250.0, [(2.0, 80.0), (11.5, 2.0)]),  # far from the prior
]


def independent_map(course: Course) -> np.ndarray:
    result = minimize(
        independent_ofv, np.zeros(3), args=(course,), method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20000, "maxfev": 40000},
    )  # fmt: skip
    assert result.success
    return np.asarray(result.x)


@pytest.mark.parametrize("course", COURSES)
def test_the_map_equals_an_independent_minimisation_of_the_published_objective(
    course: Course,
) -> None:
    state = calibrate(course)
    assert state.status == "converged", state.message
    eta = state.usable().eta_array()
    expected = independent_map(course)
    # CL, V1, V2 are exp(eta) times the same typical values: relative error = exp(diff) - 1.
    assert np.all(np.abs(np.expm1(eta - expected)) < 1e-4), (eta, expected)
    assert state.objective == pytest.approx(independent_ofv(expected, course), abs=1e-7)


@pytest.mark.parametrize("course", COURSES)
def test_the_laplace_sds_equal_a_finite_difference_hessian_of_the_independent_objective(
    course: Course,
) -> None:
    posterior = calibrate(course).usable()
    eta = independent_map(course)
    h = 1e-3
    hessian = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = h * np.eye(3)[i], h * np.eye(3)[j]
            hessian[i, j] = (
                independent_ofv(eta + ei + ej, course)
                - independent_ofv(eta + ei - ej, course)
                - independent_ofv(eta - ei + ej, course)
                + independent_ofv(eta - ei - ej, course)
            ) / (4 * h * h)
    sd = np.sqrt(np.diag(2.0 * np.linalg.inv(hessian)))
    np.testing.assert_allclose(posterior.sd, sd, rtol=1e-4)
    np.testing.assert_allclose(posterior.shrinkage, 1 - sd / np.sqrt(OMEGA2), atol=1e-4)


def test_the_same_course_gives_an_identical_state() -> None:
    for course in COURSES:
        assert calibrate(course) == calibrate(course)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_warm_start_at_the_full_mode_reaches_the_same_leave_one_out_mode(seed: int) -> None:
    """The explanation's leave-one-out refits start at the full fit's mode: for virtual
    patients across the prior, each refit equals the refit from the prior mode (to the
    stopping rule's own precision: a Newton decrement below 1e-12 leaves ~1e-6 in eta)."""
    rng = np.random.default_rng(seed)
    for index in range(30):
        patient = virtual_patient(rng, index)
        full = calibrate(patient.course).usable().eta_array()
        for left_out in range(len(patient.course.levels)):
            reduced = patient.course.without_level(left_out)
            cold, warm = calibrate(reduced), calibrate(reduced, start=full)
            assert cold.status == warm.status == "converged"
            assert warm.usable().eta_array() == pytest.approx(cold.usable().eta_array(), abs=1e-6)
            cl_cold, cl_warm = (c.usable().parameter("CL") for c in (cold, warm))
            assert cl_warm == pytest.approx(cl_cold, rel=1e-6)
