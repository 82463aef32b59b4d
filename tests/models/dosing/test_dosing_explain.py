"""Shapley explanations (additivity, symmetry, dummy), level influence, and recovery."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from models.dosing.calibration import calibrate
from models.dosing.explain import explain_forecast, level_influence, shapley_values
from models.dosing.forecast import forecast, repeated_infusions
from models.dosing.history import Course, Infusion, Level, TimedValue
from models.dosing.simulate import recovery


def course(crcl: float, weight: float) -> Course:
    return Course(
        tuple(Infusion(1000.0, 12.0 * i, 1.0, f"d{i}") for i in range(5)),
        (Level(38.0, 30.0, "peak"), Level(47.5, 16.0, "trough"), Level(14.0, 20.0, "early")),
        (TimedValue(0.0, crcl), TimedValue(24.0, crcl * 0.7)),
        (TimedValue(0.0, weight),),
    )


@pytest.mark.parametrize(("crcl", "weight"), [(80.0, 95.0), (140.0, 55.0), (45.0, 120.0)])
@pytest.mark.parametrize("time_h", [None, 71.5])
def test_shapley_values_add_up_to_the_forecast(
    crcl: float, weight: float, time_h: float | None
) -> None:
    c = course(crcl, weight)
    state = calibrate(c)
    regimen = repeated_infusions(1250.0, 12.0, 4, 60.0)
    explanation = explain_forecast(c, state, regimen, 72.0, time_h)
    total = explanation.base + sum(v for _, v in explanation.contributions)
    assert total == pytest.approx(explanation.value, rel=1e-12)
    point = forecast(c, state, regimen, [71.5], 72.0)
    assert explanation.value == pytest.approx(
        point.auc24 if time_h is None else point.concentration[0]
    )


def test_a_reference_covariate_contributes_nothing() -> None:
    c = Course(course(80, 70).infusions, course(80, 70).levels, (TimedValue(0.0, 120.0),),
               (TimedValue(0.0, 70.0),))  # fmt: skip
    explanation = explain_forecast(c, calibrate(c), (), 24.0)
    assert dict(explanation.contributions)["creatinine_clearance"] == 0.0
    assert dict(explanation.contributions)["weight"] == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_shapley_symmetry_dummy_and_efficiency_on_random_games(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 5
    # a game where players 0 and 1 are interchangeable and player 4 is a dummy
    base = rng.normal(size=(2, 2, 2, 2))
    values = np.empty(1 << n)
    for mask in range(1 << n):
        bits = [(mask >> i) & 1 for i in range(n)]
        values[mask] = base[
            int(bits[0] + bits[1] > 0), int(bits[0] + bits[1] > 1), bits[2], bits[3]
        ]
    phi = shapley_values(values, n)
    assert phi[0] == pytest.approx(phi[1]) and phi[4] == 0.0
    assert phi.sum() == pytest.approx(values[-1] - values[0])
    # and the permutation definition gives the same values
    orders = list(itertools.permutations(range(n)))
    by_order = np.zeros(n)
    for order in orders:
        mask = 0
        for player in order:
            by_order[player] += values[mask | 1 << player] - values[mask]
            mask |= 1 << player
    np.testing.assert_allclose(phi, by_order / len(orders), atol=1e-12)


def test_level_influence_is_the_leave_one_out_change_of_clearance() -> None:
    c = course(80.0, 95.0)
    state = calibrate(c)
    influence = level_influence(c, state)
    assert sorted(i.level_id for i in influence) == ["early", "peak", "trough"]
    changes = [abs(i.cl_change or 0.0) for i in influence]
    assert changes == sorted(changes, reverse=True)
    for item in influence:
        index = [lv.id for lv in c.levels].index(item.level_id)
        refit = calibrate(c.without_level(index)).usable().parameter("CL")
        # the refits start warm, at the full mode: equal to a cold refit to the stopping
        # rule's precision (~1e-6 relative in CL)
        cl_all = state.usable().parameter("CL")
        assert item.cl_change == pytest.approx(cl_all - refit, abs=1e-6 * cl_all)


def test_recovery_on_a_simulated_population() -> None:
    figures = recovery(200, seed=7)
    assert figures["failed_fits"] == 0
    assert figures["median_abs_error_map"] <= 0.9 * figures["median_abs_error_prior"]
    assert abs(figures["median_bias"]) <= 0.05
    assert 0.86 <= figures["coverage_90"] <= 0.94
