"""The Windkessel calibration: its MAP is the minimum of the posterior rebuilt here from the
twin's public model, it recovers virtual patients better than the prior, it is
deterministic, and it names the data it cannot use."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from models.calibration import windkessel_forecast
from models.calibration.bench_windkessel import recovery, virtual_patient
from models.calibration.errors import WindkesselDataError
from models.calibration.windkessel import BloodPressures, Reading, calibrate_windkessel
from models.calibration.windkessel_forecast import (
    explain_pressures,
    forecast_pressures,
    reading_influence,
)
from models.calibration.windkessel_prior import (
    OMEGA,
    REFERENCE_HEART_RATE_BPM,
    TYPICAL,
    TYPICAL_STROKE_VOLUME_ML,
)
from models.mechanistic import WindkesselTwin

READINGS = (
    Reading("a", 0.0, 128.0, 82.0, 70.0),
    Reading("b", 6.0, 141.0, 88.0, 85.0),
    Reading("c", 24.0, 122.0, 79.0, 62.0),
)
DATA = BloodPressures(READINGS, ("a", "b", "c"))


def objective(eta: np.ndarray, data: BloodPressures) -> float:
    """Minus twice the log posterior, rebuilt from the twin's own model (sklearn-style)."""
    r_p, c = TYPICAL * np.exp(eta)
    X = [[r.heart_rate, r.stroke_volume, r_p, c] for r in data.readings]
    beats = WindkesselTwin().fit().predict_all(X)
    y = np.array([[r.systolic, r.diastolic] for r in data.readings])
    return float(np.sum((y - beats[:, :2]) ** 2) / 8.0**2 + np.sum((eta / OMEGA) ** 2))


def test_the_map_is_the_posterior_mode_found_by_scipy() -> None:
    result = calibrate_windkessel(DATA)
    assert result.status == "converged", result.message
    found = minimize(objective, np.array([0.4, -0.4]), args=(DATA,), method="Nelder-Mead",
                     options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000})  # fmt: skip
    assert found.success
    ours = dict(result.posterior.parameters) if result.posterior else {}
    theirs = TYPICAL * np.exp(found.x)
    assert ours["R_p"] == pytest.approx(theirs[0], rel=1e-4)
    assert ours["C"] == pytest.approx(theirs[1], rel=1e-4)
    assert result.objective == pytest.approx(found.fun, rel=1e-6)


def test_the_laplace_posterior_and_shrinkage_are_consistent() -> None:
    posterior = calibrate_windkessel(DATA).usable()
    cov = posterior.covariance_array()
    assert np.allclose(cov, cov.T) and np.all(np.linalg.eigvalsh(cov) > 0)
    assert np.allclose(posterior.sd, np.sqrt(np.diag(cov)))
    assert np.allclose(posterior.shrinkage, 1.0 - np.array(posterior.sd) / OMEGA)
    # cuff pairs pin the resistance (mean pressure) far better than the compliance
    assert posterior.shrinkage[0] > posterior.shrinkage[1] > 0.0


def test_a_replay_reproduces_the_calibration_exactly() -> None:
    assert calibrate_windkessel(DATA) == calibrate_windkessel(DATA)


def test_recovery_is_better_than_the_prior_on_a_seeded_set() -> None:
    result = recovery(n_patients=30, n_readings=4, seed=7)
    assert result["failed_fits"] == 0
    fitted, prior = result["median_abs_log_error"], result["prior_median_abs_log_error"]
    assert fitted[0] < 0.5 * prior[0]  # R_p
    assert fitted[1] < prior[1]  # C


@pytest.mark.parametrize(
    ("readings", "field", "problem"),
    [
        ((), "blood_pressure", "missing"),
        ((Reading("x", 0.0, 80.0, 95.0, 70.0),), "blood_pressure", "contradictory"),
        ((Reading("x", 0.0, 120.0, 80.0, 230.0),), "heart_rate", "invalid"),
        ((Reading("x", 0.0, 120.0, float("nan"), 70.0),), "blood_pressure", "invalid"),
    ],
)
def test_data_that_cannot_be_used_is_named(
    readings: tuple[Reading, ...], field: str, problem: str
) -> None:
    with pytest.raises(WindkesselDataError) as caught:
        calibrate_windkessel(BloodPressures(readings, ()))
    assert (caught.value.field, caught.value.problem) == (field, problem)


def test_the_explanation_adds_up_against_the_typical_patient() -> None:
    calibration = calibrate_windkessel(DATA)
    typical = (
        WindkesselTwin()
        .fit()
        .predict_all([[REFERENCE_HEART_RATE_BPM, TYPICAL_STROKE_VOLUME_ML, *TYPICAL]])[0]
    )
    for k, explained in enumerate(explain_pressures(calibration, 90.0, TYPICAL_STROKE_VOLUME_ML)):
        assert explained.base == pytest.approx(typical[k], rel=1e-12)
        total = explained.base + sum(v for _, v in explained.contributions)
        assert total == pytest.approx(explained.value, rel=1e-12)
    # the mean pressure does not depend on the compliance: eta_C contributes nothing to it
    assert dict(explained.contributions)["eta_C"] == pytest.approx(0.0, abs=1e-6)


def test_forecast_intervals_hold_the_mode_and_are_reproducible() -> None:
    calibration = calibrate_windkessel(DATA)
    hours = np.arange(6.0)
    rates = np.array([70.0, 70.0, 70.0, 95.0, 95.0, 95.0])
    first = forecast_pressures(calibration, hours, rates, TYPICAL_STROKE_VOLUME_ML)
    assert first == forecast_pressures(calibration, hours, rates, TYPICAL_STROKE_VOLUME_ML)
    for name in ("systolic", "diastolic", "map"):
        point, low, high = (
            np.array(getattr(first, f)) for f in (name, f"{name}_low", f"{name}_high")
        )
        assert np.all(low < point) and np.all(point < high)
        # a reading's interval: at least the cuff's own 90 % spread (1.645 x 8 mmHg)
        assert np.all(high - low > 2 * 1.645 * 8.0 * (0.7 if name == "map" else 0.95))
    assert first.map[-1] > first.map[0]


def test_one_gauss_newton_step_approximates_the_exact_leave_one_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, _ = virtual_patient(3, 6)
    calibration = calibrate_windkessel(data)
    exact = {i.reading_id: i for i in reading_influence(data, calibration)}
    monkeypatch.setattr(windkessel_forecast, "EXACT_INFLUENCE_READINGS", 1)
    approx = {i.reading_id: i for i in reading_influence(data, calibration)}
    assert {i.note for i in approx.values()} == {"one Gauss-Newton step without it"}
    for ident, refit in exact.items():
        assert refit.note == "refitted without it"
        assert approx[ident].r_p_change == pytest.approx(refit.r_p_change, abs=0.01)
        assert approx[ident].c_change == pytest.approx(refit.c_change, abs=0.05)
