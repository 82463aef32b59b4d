"""Maximum a posteriori calibration of a patient's Windkessel from cuff blood pressures.

Each reading's systolic and diastolic are fitted to the maximum and minimum of the steady
beat at that reading's heart rate (and stroke volume: the typical one unless observed).
The objective is minus twice the log posterior up to a constant, ``r(η)ᵀ r(η)``: the
residuals ``(y - f(η)) / 8 mmHg`` of every systolic and diastolic (``windkessel_prior``)
and the prior terms ``η / ω``. Levenberg-Marquardt from the prior mode (``η = 0``), with
central-difference Jacobians (the reading set at ``η`` and its four neighbours in one
batch-kernel call); deterministic, so a replay of the same data reproduces the state
exactly. The Laplace covariance at the mode is the Gauss-Newton ``(JᵀJ)⁻¹``; SDs and
shrinkage ``1 - SD / ω`` per parameter. The result has the shapes of
:mod:`models.dosing.calibration`; a fit that does not converge is returned with
``status == "failed"`` and no posterior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from models.calibration.errors import WindkesselDataError
from models.calibration.map_fit import (
    Stopping,
    gauss_newton_covariance,
    laplace_posterior,
    levenberg_marquardt,
    start_at,
)
from models.calibration.windkessel_prior import (
    CUFF_SD_MMHG,
    HEART_RATE_RANGE_BPM,
    OMEGA,
    PARAMETER_NAMES,
    PRIOR_VERSION,
    TYPICAL,
    TYPICAL_STROKE_VOLUME_ML,
    pressures,
)
from models.dosing.calibration import Calibration, Posterior
from models.mechanistic._validation import FloatArray
from models.mechanistic.windkessel import CHARACTERISTIC_RESISTANCE

MAX_ITERATIONS = 50
#: Central-difference step on η (log scale).
FD_STEP = 1e-5
#: Converged when the gradient ``Jᵀr`` (largest entry) falls below this, or a step moves
#: no η by more than :data:`STEP_TOL`.
GRADIENT_TOL = 1e-9
STEP_TOL = 1e-10
#: Largest step on the log scale per parameter.
MAX_STEP = 1.0
N = len(PARAMETER_NAMES)
STROKE_VOLUME_RANGE_ML = (10.0, 200.0)


@dataclass(frozen=True)
class Reading:
    """One cuff reading (mmHg) with the heart rate (bpm) in force at its time (hours from
    any origin) and the stroke volume (mL) assumed or observed then."""

    id: str
    time_h: float
    systolic: float
    diastolic: float
    heart_rate: float
    stroke_volume: float = TYPICAL_STROKE_VOLUME_ML


@dataclass(frozen=True)
class BloodPressures:
    """A patient's readings and every observation id they rest on (readings, heart rates)."""

    readings: tuple[Reading, ...]
    observation_ids: tuple[str, ...]

    def without(self, index: int) -> BloodPressures:
        kept = self.readings[:index] + self.readings[index + 1 :]
        return replace(self, readings=kept)

    def arrays(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Observed ``[s1, d1, s2, d2, ...]``, heart rates and stroke volumes."""
        y = np.array([[r.systolic, r.diastolic] for r in self.readings]).reshape(-1)
        hr = np.array([r.heart_rate for r in self.readings])
        return y, hr, np.array([r.stroke_volume for r in self.readings])


def check_readings(data: BloodPressures) -> None:
    """:class:`WindkesselDataError` naming what cannot be used."""
    if not data.readings:
        raise WindkesselDataError(
            "blood_pressure", "missing", "no blood pressure reading (systolic and diastolic)"
        )
    low, high = HEART_RATE_RANGE_BPM
    for r in data.readings:
        values = (r.systolic, r.diastolic, r.heart_rate, r.stroke_volume, r.time_h)
        if not all(math.isfinite(v) for v in values):
            raise WindkesselDataError("blood_pressure", "invalid", f"reading {r.id}: not finite")
        if r.systolic <= r.diastolic:
            raise WindkesselDataError(
                "blood_pressure", "contradictory",
                f"reading {r.id}: systolic {r.systolic:g} is not above diastolic {r.diastolic:g}",
            )  # fmt: skip
        if not low <= r.heart_rate <= high:
            raise WindkesselDataError(
                "heart_rate", "invalid",
                f"reading {r.id}: {r.heart_rate:g} bpm is outside the model's {low:g}-{high:g}",
            )  # fmt: skip
        if not STROKE_VOLUME_RANGE_ML[0] <= r.stroke_volume <= STROKE_VOLUME_RANGE_ML[1]:
            raise WindkesselDataError("stroke_volume", "invalid", f"reading {r.id}: out of range")


class Residuals:
    """``r(η)`` and its central-difference Jacobian for one patient's readings."""

    def __init__(self, data: BloodPressures) -> None:
        self.y, self.hr, self.sv = data.arrays()

    def _whiten(self, beats: FloatArray, eta: FloatArray) -> FloatArray:
        fitted = beats[:, :2].reshape(-1)
        return np.concatenate([(self.y - fitted) / CUFF_SD_MMHG, eta / OMEGA])

    def value(self, eta: FloatArray) -> FloatArray:
        return self._whiten(pressures(eta, self.hr, self.sv)[0], eta)

    def with_jacobian(self, eta: FloatArray) -> tuple[FloatArray, FloatArray]:
        shifts = FD_STEP * np.eye(N)
        etas = np.vstack([eta, eta + shifts, eta - shifts])
        beats = pressures(etas, self.hr, self.sv)
        r = self._whiten(beats[0], eta)
        jac = np.column_stack(
            [
                (
                    self._whiten(beats[1 + k], etas[1 + k])
                    - self._whiten(beats[1 + N + k], etas[1 + N + k])
                )
                / (2.0 * FD_STEP)
                for k in range(N)
            ]
        )
        return r, jac


def map_estimate(
    data: BloodPressures, start: FloatArray | None = None
) -> tuple[FloatArray, float, int, str, FloatArray]:
    """The mode's η, its objective, the iterations, "" (or why it failed), ``JᵀJ``."""
    stopping = Stopping(
        max_iterations=MAX_ITERATIONS,
        step_tol=STEP_TOL,
        max_step=MAX_STEP,
        damping_floor=1e-12,
        gradient_tol=GRADIENT_TOL,
    )
    fit = levenberg_marquardt(Residuals(data), start_at(start, N), stopping)
    return fit.eta, fit.objective, fit.iterations, fit.problem, fit.jtj


def posterior_at(eta: FloatArray, jtj: FloatArray, data: BloodPressures) -> Posterior:
    """The Laplace posterior at the mode (:class:`numpy.linalg.LinAlgError` if ``JᵀJ`` is
    not positive definite)."""
    covariance = gauss_newton_covariance(jtj)
    estimates = TYPICAL * np.exp(eta)
    fixed = (("R_c", CHARACTERISTIC_RESISTANCE), ("stroke_volume", data.readings[-1].stroke_volume))
    parameters = (*zip(PARAMETER_NAMES, map(float, estimates), strict=True), *fixed)
    return laplace_posterior(eta, covariance, OMEGA, parameters)


def calibrate_windkessel(data: BloodPressures, start: FloatArray | None = None) -> Calibration:
    """MAP ``R_p`` and ``C`` of the readings under the prior, with the Laplace posterior.

    A state starts at the prior mode (what a replay reproduces); ``start`` warm-starts the
    leave-one-out refits. Raises :class:`WindkesselDataError` for data that cannot be
    used; returns ``status == "failed"`` when the fit does not converge."""
    check_readings(data)
    eta, value, iterations, problem, jtj = map_estimate(data, start)
    posterior = None
    if not problem:
        try:
            posterior = posterior_at(eta, jtj, data)
        except np.linalg.LinAlgError:
            problem = "the Gauss-Newton matrix at the mode is not positive definite"
    if posterior is None:
        return Calibration(
            "failed", problem, PRIOR_VERSION, data.observation_ids, value, iterations, None
        )
    message = f"converged in {iterations} Levenberg-Marquardt iterations (R_p, C)"
    return Calibration(
        "converged", message, PRIOR_VERSION, data.observation_ids, value, iterations, posterior
    )
