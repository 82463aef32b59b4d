"""The mechanistic cards say what the models do with their inputs."""

from __future__ import annotations

import numpy as np

from models.mechanistic import WindkesselTwin
from models.mechanistic_demo import RECIPES


def test_the_windkessel_card_states_the_characteristic_resistance_added_in_series() -> None:
    """The input is the distal resistance R_p; the model adds R_c in series, so the total
    peripheral resistance (MAP / cardiac output) is R_p + R_c, and the card says so."""
    (recipe,) = [r for r in RECIPES if r.name == "windkessel-map"]
    twin = WindkesselTwin().fit()
    r_c = twin.characteristic_resistance
    assert recipe.card_extra["characteristic_resistance"] == r_c
    (spec,) = [s for s in recipe.specs if s.name == "peripheral_resistance"]
    assert "total peripheral resistance" not in spec.description.split(";")[0]
    assert f"{r_c:g}" in spec.description and "R_p + R_c" in spec.description
    rng = np.random.default_rng(22)
    lows = np.array([b[0] for b in twin.input_bounds])
    highs = np.array([b[1] for b in twin.input_bounds])
    rows = rng.uniform(lows, highs, (50, 4))
    rows[:, 0] = rng.uniform(40.0, 150.0, 50)  # ejection shorter than the beat
    mean_pressure = twin.predict_outputs(rows, "map")
    cardiac_output = rows[:, 1] * rows[:, 0] / 60.0  # mL/s
    np.testing.assert_allclose(mean_pressure / cardiac_output, rows[:, 2] + r_c, rtol=1e-6)
