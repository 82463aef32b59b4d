"""Cardiac haemodynamics twin: arterial pressure from a three-element Windkessel."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from models.mechanistic._validation import FloatArray, check_columns, check_range
from models.mechanistic.errors import MechanisticInputError
from models.mechanistic.windkessel_kernels import N_PARAMS, windkessel_batch, windkessel_beat

#: The characteristic resistance of the proximal aorta (mmHg·s/mL), in series with the
#: peripheral resistance R_p: a typical adult value, some 5% of the total resistance
#: (Westerhof N, Lankhaar JW, Westerhof BE. The arterial Windkessel. Med Biol Eng Comput
#: 2009;47:131-141). It is physiological (the aortic input impedance at high frequency,
#: which shapes the systolic upstroke), so the model keeps it; the total peripheral
#: resistance a clinician computes as MAP / cardiac output is ``R_p + R_c``.
CHARACTERISTIC_RESISTANCE = 0.05

#: Solver caps (steps per beat).
MIN_STEPS_PER_BEAT = 20
MAX_STEPS_PER_BEAT = 100_000


def ejection_time_s(heart_rate_bpm: FloatArray) -> FloatArray:
    """Left-ventricular ejection time from heart rate, Weissler's regression for men:
    ``LVET = 0.413 s - 0.0017 s/bpm · HR`` (Weissler AM, Harris WS, Schoenfeld CD.
    Systolic time intervals in heart failure in man. Circulation 1968;37:149-159)."""
    result: FloatArray = 0.413 - 0.0017 * heart_rate_bpm
    return result


class WindkesselTwin:
    """Aortic pressure of a patient from heart rate, stroke volume, resistance, compliance.

    Inputs (columns of ``X``): ``heart_rate`` (bpm), ``stroke_volume`` (mL),
    ``peripheral_resistance`` (mmHg·s/mL: the distal resistance ``R_p``, not the total),
    ``compliance`` (mL/mmHg). The characteristic resistance ``R_c`` is a parameter
    (default :data:`CHARACTERISTIC_RESISTANCE`, 0.05 mmHg·s/mL) in series with ``R_p``:
    at steady state MAP = (R_p + R_c) · cardiac output.
    Outputs at periodic steady state: ``systolic``, ``diastolic``, ``map`` (mmHg).
    """

    input_names: tuple[str, ...] = (
        "heart_rate",
        "stroke_volume",
        "peripheral_resistance",
        "compliance",
    )
    output_names: tuple[str, ...] = ("systolic", "diastolic", "map")
    input_bounds: tuple[tuple[float, float, str], ...] = (
        (30.0, 200.0, "bpm"),
        (10.0, 200.0, "mL"),
        (0.2, 5.0, "mmHg·s/mL"),
        (0.1, 10.0, "mL/mmHg"),
    )

    def __init__(
        self, characteristic_resistance: float = CHARACTERISTIC_RESISTANCE, n_steps: int = 400
    ) -> None:
        self.characteristic_resistance = characteristic_resistance
        self.n_steps = n_steps

    def fit(self, X: npt.ArrayLike | None = None, y: npt.ArrayLike | None = None) -> WindkesselTwin:
        """Nothing is learned; validates the settings."""
        check_range(self.characteristic_resistance, "characteristic_resistance", 0.0, 0.5)
        check_range(self.n_steps, "n_steps", MIN_STEPS_PER_BEAT, MAX_STEPS_PER_BEAT)
        self.n_features_in_ = len(self.input_names)
        return self

    def kinetic_parameters(self, X: npt.ArrayLike) -> FloatArray:
        """Rows ``[R_c, R_p, C, T, T_s, SV]``."""
        matrix = check_columns(X, self.input_names, self.input_bounds)
        params = np.empty((matrix.shape[0], N_PARAMS))
        params[:, 0] = self.characteristic_resistance
        params[:, 1] = matrix[:, 2]
        params[:, 2] = matrix[:, 3]
        params[:, 3] = 60.0 / matrix[:, 0]
        params[:, 4] = ejection_time_s(matrix[:, 0])
        params[:, 5] = matrix[:, 1]
        return params

    def predict_all(self, X: npt.ArrayLike) -> FloatArray:
        """``(n, 3)`` ``[systolic, diastolic, map]`` from one batch-kernel call."""
        self.fit()
        result: FloatArray = windkessel_batch(self.kinetic_parameters(X), int(self.n_steps))
        return result

    def predict_outputs(self, X: npt.ArrayLike, output: str) -> FloatArray:
        """One named output for many input rows (what ``shap.ExactExplainer`` calls)."""
        if output not in self.output_names:
            raise MechanisticInputError("output", f"one of {', '.join(self.output_names)}", output)
        return np.ascontiguousarray(self.predict_all(X)[:, self.output_names.index(output)])

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        return self.predict_outputs(X, "map")

    def trajectory(self, x: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """One steady-state beat: times (s) and aortic pressure (mmHg) at the step points."""
        self.fit()
        params = self.kinetic_parameters(x)[0]
        wave, _ = windkessel_beat(params, int(self.n_steps))
        n_sys = max(1, min(self.n_steps - 1, round(self.n_steps * params[4] / params[3])))
        times = np.concatenate(
            [
                np.linspace(0.0, params[4], n_sys + 1),
                np.linspace(params[4], params[3], self.n_steps - n_sys + 1)[1:],
            ]
        )
        return times, wave
