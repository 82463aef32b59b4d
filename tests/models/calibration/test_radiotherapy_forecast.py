"""Forecasts of a calibrated radiotherapy course: 90 % intervals around the mode, planned
fractions that shrink the tumour, Shapley values that add up and equal the two-player
formula, leave-one-out influence equal to a refit without the volume."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibration.bench_radiotherapy import virtual_course
from models.calibration.errors import RadiotherapyDataError
from models.calibration.radiotherapy import calibrate_radiotherapy
from models.calibration.radiotherapy_course import Fraction, RadiotherapyCourse, simulate
from models.calibration.radiotherapy_explain import explain_forecast, volume_influence
from models.calibration.radiotherapy_forecast import forecast_tumour
from models.calibration.radiotherapy_prior import OMEGA
from models.dosing.calibration import Calibration

BOOST = tuple(Fraction(50.0 + d + 1 / 24, 2.0, f"boost{d}") for d in range(5))
TIMES = np.arange(49.0, 78.0, 1.0)


@pytest.fixture(scope="module")
def fitted() -> tuple[RadiotherapyCourse, Calibration]:
    course = virtual_course(np.array([0.2, 0.4, -0.3]) * OMEGA, np.random.default_rng(5))
    return course, calibrate_radiotherapy(course)


def test_intervals_hold_the_mode_and_a_boost_shrinks_the_tumour(
    fitted: tuple[RadiotherapyCourse, Calibration],
) -> None:
    course, calibration = fitted
    plain = forecast_tumour(course, calibration, (), TIMES)
    boosted = forecast_tumour(course, calibration, BOOST, TIMES)
    for fc in (plain, boosted):
        assert all(lo < v < hi for lo, v, hi in
                   zip(fc.volume_low, fc.volume, fc.volume_high, strict=True))  # fmt: skip
        assert fc.relative_reduction_low <= fc.relative_reduction <= fc.relative_reduction_high
    assert boosted.volume_at_horizon < plain.volume_at_horizon
    assert boosted.relative_reduction > plain.relative_reduction
    assert forecast_tumour(course, calibration, BOOST, TIMES) == boosted  # seeded


def test_a_planned_fraction_at_a_delivered_instant_is_contradictory(
    fitted: tuple[RadiotherapyCourse, Calibration],
) -> None:
    course, calibration = fitted
    clash = (Fraction(course.fractions[-1].time_d, 2.0, "plan"),)
    with pytest.raises(RadiotherapyDataError) as caught:
        forecast_tumour(course, calibration, clash, TIMES)
    assert (caught.value.field, caught.value.problem) == ("scenario", "contradictory")


def test_shapley_values_add_up_and_equal_the_two_player_formula(
    fitted: tuple[RadiotherapyCourse, Calibration],
) -> None:
    course, calibration = fitted
    explained = explain_forecast(course, calibration, BOOST, 77.0)
    eta = calibration.usable().eta_array()
    games = np.array([[eta[0], g * eta[1], a * eta[2]] for a in (0, 1) for g in (0, 1)])
    v = simulate(games, course.fractions + BOOST, np.array([77.0]))[:, 0]  # none, g, a, both
    growth = 0.5 * ((v[1] - v[0]) + (v[3] - v[2]))
    alpha = 0.5 * ((v[2] - v[0]) + (v[3] - v[1]))
    assert dict(explained.contributions) == pytest.approx(
        {"eta_growth_rate": growth, "eta_alpha": alpha}, rel=1e-12
    )
    assert explained.base + growth + alpha == pytest.approx(explained.value, rel=1e-12)
    point = forecast_tumour(course, calibration, BOOST, TIMES).volume_at_horizon
    assert explained.value == pytest.approx(point, rel=1e-12)


def test_influence_is_the_change_of_a_refit_without_each_volume(
    fitted: tuple[RadiotherapyCourse, Calibration],
) -> None:
    course, calibration = fitted
    influence = volume_influence(course, calibration)
    assert len(influence) == len(course.volumes)
    full = dict(calibration.usable().parameters)
    for item in influence:
        index = next(i for i, v in enumerate(course.volumes) if v.id == item.volume_id)
        refit = dict(calibrate_radiotherapy(course.without_volume(index)).usable().parameters)
        assert item.growth_rate_change == pytest.approx(
            full["growth_rate"] - refit["growth_rate"], rel=1e-4, abs=1e-9
        )
        assert item.alpha_change == pytest.approx(full["alpha"] - refit["alpha"], rel=1e-4)
    weights = [max(abs(i.growth_rate_change or 0) / full["growth_rate"],
                   abs(i.alpha_change or 0) / full["alpha"]) for i in influence]  # fmt: skip
    assert weights == sorted(weights, reverse=True)
