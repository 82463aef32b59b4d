"""Radiotherapy twin: tumour volume under any fractionation schedule."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from models.mechanistic._validation import (
    FloatArray,
    IntArray,
    as_float_array,
    check_columns,
    check_ordered,
    check_range,
)
from models.mechanistic.errors import MechanisticInputError
from models.mechanistic.radiotherapy_kernels import (
    GOMPERTZ,
    LOGISTIC,
    tumour_integrate,
    tumour_integrate_batch,
)

#: Solver caps.
MAX_HORIZON_DAYS = 3650.0
MAX_FRACTIONS = 100
MAX_DOSE_PER_FRACTION_GY = 30.0
MAX_STEPS = 1_000_000
MIN_DT_DAYS = 1e-3
MAX_DT_DAYS = 1.0
GROWTH_MODELS = {"logistic": LOGISTIC, "gompertz": GOMPERTZ}


def weekday_schedule(n_fractions: int, start_day: float = 0.0) -> FloatArray:
    """Fraction days Monday to Friday from ``start_day`` (a Monday), weekends off."""
    check_range(n_fractions, "n_fractions", 1, MAX_FRACTIONS)
    k = np.arange(int(n_fractions))
    days = start_day + 7.0 * (k // 5) + (k % 5)
    return np.asarray(days, dtype=np.float64)


def simulate_tumour(
    params: npt.ArrayLike,
    initial_volume: float,
    fraction_times: npt.ArrayLike,
    fraction_doses: npt.ArrayLike,
    sample_times: npt.ArrayLike,
    dt_max: float = 0.05,
    growth: str = "logistic",
) -> tuple[FloatArray, float]:
    """Validated single-patient run: ``(volume at sample_times, time_to_progression)``."""
    p = as_float_array(params, "params")
    if p.size != 4:
        raise MechanisticInputError("params", "4 values [r, K, alpha, beta]", p.size)
    check_range(p[0], "growth_rate", 0.0, 2.0, unit="1/day")
    check_range(p[1], "carrying_capacity", 1e-3, 1e5, unit="cm3")
    check_range(p[2], "alpha", 0.0, 2.0, unit="1/Gy")
    check_range(p[3], "beta", 0.0, 1.0, unit="1/Gy2")
    check_range(initial_volume, "initial_volume", 1e-6, float(p[1]), low_inclusive=False)
    if growth not in GROWTH_MODELS:
        raise MechanisticInputError("growth", "logistic or gompertz", growth)
    times = as_float_array(fraction_times, "fraction_times")
    doses = as_float_array(fraction_doses, "fraction_doses")
    if times.shape != doses.shape:
        raise MechanisticInputError("fraction_doses", "as long as fraction_times")
    if times.size:  # no fractions: an untreated arm
        check_ordered(times, "fraction_times", strict=True)
    if times.size > MAX_FRACTIONS:
        raise MechanisticInputError("fraction_times", f"at most {MAX_FRACTIONS} fractions")
    check_range(doses, "fraction_doses", 0.0, MAX_DOSE_PER_FRACTION_GY, unit="Gy")
    samples = as_float_array(sample_times, "sample_times")
    check_ordered(samples, "sample_times")
    check_range(samples, "sample_times", 0.0, MAX_HORIZON_DAYS, unit="days")
    check_range(times, "fraction_times", 0.0, MAX_HORIZON_DAYS, unit="days")
    check_range(dt_max, "dt_max", MIN_DT_DAYS, MAX_DT_DAYS, unit="days")
    if samples[-1] / dt_max + samples.size + times.size > MAX_STEPS:
        raise MechanisticInputError("dt_max", f"large enough for at most {MAX_STEPS} steps")
    volumes, ttp = tumour_integrate(
        p, GROWTH_MODELS[growth], float(initial_volume), times, doses, times.size, samples, dt_max
    )
    return volumes, float(ttp)


class RadiotherapyTwin:
    """Tumour response to a fractionation schedule (LQ kill, logistic or Gompertz growth).

    Inputs (columns of ``X``): ``initial_volume`` (cm³), ``doubling_time`` (days, free
    growth at small volume: ``r = ln 2 / doubling_time``), ``alpha`` (1/Gy),
    ``alpha_beta`` (Gy), ``total_dose`` (Gy), ``n_fractions`` (rounded; weekday schedule
    from day 0). Outputs: ``volume_day_180`` (volume at ``horizon_days``, cm³) and
    ``time_to_progression`` (days from day 0, the first fraction, to the first time the
    volume exceeds the pre-treatment volume; 0 if it never shrinks, as with a total dose
    of 0; the horizon if censored).
    """

    input_names: tuple[str, ...] = (
        "initial_volume",
        "doubling_time",
        "alpha",
        "alpha_beta",
        "total_dose",
        "n_fractions",
    )
    output_names: tuple[str, ...] = ("volume_day_180", "time_to_progression")
    input_bounds: tuple[tuple[float, float, str], ...] = (
        (0.01, 1000.0, "cm3"),
        (2.0, 1000.0, "days"),
        (0.01, 1.0, "1/Gy"),
        (0.5, 30.0, "Gy"),
        (0.0, 100.0, "Gy"),
        (1.0, 60.0, "fractions"),
    )

    def __init__(
        self,
        growth: str = "logistic",
        carrying_capacity: float = 2000.0,
        horizon_days: float = 180.0,
        dt_max: float = 0.05,
    ) -> None:
        self.growth = growth
        self.carrying_capacity = carrying_capacity
        self.horizon_days = horizon_days
        self.dt_max = dt_max

    def fit(
        self, X: npt.ArrayLike | None = None, y: npt.ArrayLike | None = None
    ) -> RadiotherapyTwin:
        """Nothing is learned; validates the settings."""
        if self.growth not in GROWTH_MODELS:
            raise MechanisticInputError("growth", "logistic or gompertz", self.growth)
        check_range(self.carrying_capacity, "carrying_capacity", 1.0, 1e5, unit="cm3")
        check_range(self.horizon_days, "horizon_days", 1.0, MAX_HORIZON_DAYS, unit="days")
        check_range(self.dt_max, "dt_max", MIN_DT_DAYS, MAX_DT_DAYS, unit="days")
        if self.horizon_days / self.dt_max > MAX_STEPS:
            raise MechanisticInputError("dt_max", f"large enough for at most {MAX_STEPS} steps")
        self.n_features_in_ = len(self.input_names)
        return self

    def _inputs(self, X: npt.ArrayLike) -> FloatArray:
        matrix = check_columns(X, self.input_names, self.input_bounds)
        if np.any(matrix[:, 0] >= self.carrying_capacity):
            raise MechanisticInputError("initial_volume", "below the carrying capacity")
        per_fraction = matrix[:, 4] / np.round(matrix[:, 5])
        check_range(per_fraction, "total_dose / n_fractions", 0.0, MAX_DOSE_PER_FRACTION_GY)
        return matrix

    def _batch_inputs(
        self, matrix: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, IntArray]:
        n = matrix.shape[0]
        n_fx = np.round(matrix[:, 5]).astype(np.int64)
        width = int(n_fx.max())
        times = np.zeros((n, width))
        doses = np.zeros((n, width))
        for count in np.unique(n_fx):
            rows = n_fx == count
            times[rows, :count] = weekday_schedule(int(count))
            doses[rows, :count] = (matrix[rows, 4] / count)[:, None]
        params = np.empty((n, 4))
        params[:, 0] = np.log(2.0) / matrix[:, 1]
        params[:, 1] = self.carrying_capacity
        params[:, 2] = matrix[:, 2]
        params[:, 3] = matrix[:, 2] / matrix[:, 3]
        return params, times, doses, n_fx

    def _run(self, X: npt.ArrayLike, sample_times: FloatArray) -> tuple[FloatArray, FloatArray]:
        self.fit()
        matrix = self._inputs(X)
        params, times, doses, n_fx = self._batch_inputs(matrix)
        volumes, ttp = tumour_integrate_batch(
            params,
            GROWTH_MODELS[self.growth],
            np.ascontiguousarray(matrix[:, 0]),
            times,
            doses,
            n_fx,
            sample_times,
            float(self.dt_max),
        )
        return volumes, ttp

    def predict_all(self, X: npt.ArrayLike) -> FloatArray:
        """``(n, 2)`` ``[volume at horizon, time_to_progression]`` in one batch call."""
        volumes, ttp = self._run(X, np.array([0.0, float(self.horizon_days)]))
        return np.column_stack([volumes[:, -1], ttp])

    def predict_outputs(self, X: npt.ArrayLike, output: str) -> FloatArray:
        """One named output for many input rows (what ``shap.ExactExplainer`` calls)."""
        if output not in self.output_names:
            raise MechanisticInputError("output", f"one of {', '.join(self.output_names)}", output)
        return np.ascontiguousarray(self.predict_all(X)[:, self.output_names.index(output)])

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        return self.predict_outputs(X, "volume_day_180")

    def trajectory(
        self, x: npt.ArrayLike, sample_step_days: float = 1.0
    ) -> tuple[FloatArray, FloatArray]:
        """Volume curve (cm³) on a regular grid over the horizon."""
        check_range(sample_step_days, "sample_step_days", 0.01, self.horizon_days, unit="days")
        n = round(self.horizon_days / sample_step_days)
        times = np.linspace(0.0, float(self.horizon_days), n + 1)
        volumes, _ = self._run(x, times)
        return times, volumes[0]
