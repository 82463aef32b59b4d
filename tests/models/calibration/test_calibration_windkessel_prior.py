"""The Windkessel prior's typical values are the card's: the geometric means of the card's
own reference population (drawn here large, from the card's sampler)."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibration.windkessel_prior import (
    REFERENCE_HEART_RATE_BPM,
    TYPICAL,
    TYPICAL_STROKE_VOLUME_ML,
    pressures,
)
from models.mechanistic import WindkesselTwin
from models.mechanistic_demo import _windkessel_population


def test_typical_values_are_the_card_populations_geometric_means() -> None:
    population = _windkessel_population(np.random.default_rng(0), 200_000).inputs
    r_p = np.exp(np.mean(np.log(population["peripheral_resistance"])))
    c = np.exp(np.mean(np.log(population["compliance"])))
    assert TYPICAL[0] == pytest.approx(r_p, rel=2e-3)
    assert TYPICAL[1] == pytest.approx(c, rel=3e-3)
    stroke_volume, heart_rate = (
        float(np.mean(population[n])) for n in ("stroke_volume", "heart_rate")
    )
    assert stroke_volume == pytest.approx(TYPICAL_STROKE_VOLUME_ML, rel=3e-3)
    assert heart_rate == pytest.approx(REFERENCE_HEART_RATE_BPM, rel=3e-3)


def test_pressures_are_the_twins_own_beats() -> None:
    eta = np.array([[0.1, -0.2], [0.0, 0.0]])
    hr = np.array([60.0, 90.0])
    ours = pressures(eta, hr, np.full(2, 70.0))
    model = WindkesselTwin().fit()
    for i, (dr, dc) in enumerate(eta):
        X = [[h, 70.0, TYPICAL[0] * np.exp(dr), TYPICAL[1] * np.exp(dc)] for h in hr]
        assert np.array_equal(ours[i], model.predict_all(X))
