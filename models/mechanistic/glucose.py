"""Type 1 diabetes twin: a day of glucose from the UVA/Padova model and a virtual cohort.

:func:`virtual_cohort` reads the 30 virtual subjects (10 adolescents, 10 adults, 10 children)
that the ``simglucose`` package ships (``data/``, MIT licence, see ``data/README.md``);
:func:`simulate_glucose` integrates any meal/insulin schedule for one subject (meals eaten
at 5 g/min, boluses over one minute, basal changes: ``glucose_events.py``);
:class:`GlucoseT1DTwin` maps a subject and a day's regimen to time in range, time below
range, time above range and mean glucose through one batch-kernel call.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

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
from models.mechanistic.glucose_events import BASAL_RATE, BOLUS, MEAL, kernel_events
from models.mechanistic.glucose_kernels import (
    BW,
    N_PHYSIOLOGY,
    PARAM_COLUMNS,
    PMOL_PER_U,
    VG,
    glucose_integrate,
    glucose_integrate_batch,
)

#: Solver caps: they bound the work one request can cause. 15 days hold 14 days of CGM
#: with a day to spare; 2,048 events hold 14 days of a pump's hourly basal changes with
#: meals, boluses and corrections (each meal becomes one kernel event per minute of eating,
#: at most 61 for the largest meal).
MAX_HORIZON_MIN = 15 * 24 * 60.0
MAX_EVENTS = 2048
MAX_STEPS = 1_000_000
MIN_DT_MIN = 1e-3
MAX_DT_MIN = 2.0
MAX_MEAL_G = 300.0
MAX_BOLUS_U = 50.0
MAX_BASAL_U_PER_H = 10.0
N_SUBJECTS = 30
#: Meal (and prandial bolus) times of the twin's day, in hours after midnight.
MEAL_TIMES_H: tuple[float, ...] = (7.0, 12.0, 18.0)
#: Sampling of the glucose trace (a continuous glucose monitor reads every 5 min).
TRACE_STEP_MIN = 5.0


@dataclass(frozen=True)
class VirtualCohort:
    """The simglucose virtual subjects: parameters, basal steady state and therapy.

    ``params`` rows follow :data:`~models.mechanistic.glucose_kernels.PARAM_COLUMNS`;
    ``x0`` is each subject's basal steady state (13 states), reached with the basal
    insulin ``basal_u_per_h``; ``carb_ratio`` (g/U), ``correction_factor`` (mg/dL per U),
    ``age`` (years) and ``total_daily_insulin`` (U) come from the cohort's therapy table.
    """

    names: tuple[str, ...]
    params: FloatArray
    x0: FloatArray
    basal_u_per_h: FloatArray
    carb_ratio: FloatArray
    correction_factor: FloatArray
    age: FloatArray
    total_daily_insulin: FloatArray

    @property
    def basal_glucose(self) -> FloatArray:
        """Fasting plasma glucose ``Gb = Gpb / Vg`` (mg/dL) of each subject."""
        result: FloatArray = self.x0[:, 3] / self.params[:, VG]
        return result


def _read_table(name: str) -> list[dict[str, str]]:
    text = resources.files("models.mechanistic").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@functools.cache
def virtual_cohort() -> VirtualCohort:
    """The 30 subjects, in file order: subject ``k`` (1-30) is row ``k - 1``."""
    rows = _read_table("vpatient_params.csv")
    quest = {r["Name"]: r for r in _read_table("Quest.csv")}
    params = np.array([[float(r[c]) for c in PARAM_COLUMNS] for r in rows])
    x0 = np.array([[float(r[f"x0_{i:2d}"]) for i in range(1, N_PHYSIOLOGY + 1)] for r in rows])
    u2ss = np.array([float(r["u2ss"]) for r in rows])  # pmol/kg/min
    names = tuple(r["Name"] for r in rows)

    def therapy(column: str) -> FloatArray:
        return np.array([float(quest[n][column]) for n in names])

    return VirtualCohort(
        names=names,
        params=params,
        x0=x0,
        basal_u_per_h=u2ss * params[:, BW] / PMOL_PER_U * 60.0,
        carb_ratio=therapy("CR"),
        correction_factor=therapy("CF"),
        age=therapy("Age"),
        total_daily_insulin=therapy("TDI"),
    )


@dataclass(frozen=True)
class GlucoseSchedule:
    """Events in time order: times (min), kinds (0 meal g, 1 bolus U, 2 basal U/h), values
    (meals of 0 g are left out: they change nothing). A meal is eaten at 5 g/min from its
    time, a bolus given over one minute (:func:`kernel_arrays`)."""

    times: FloatArray
    kinds: IntArray
    values: FloatArray

    @classmethod
    def from_arrays(
        cls, times: npt.ArrayLike, kinds: npt.ArrayLike, values: npt.ArrayLike
    ) -> GlucoseSchedule:
        t = as_float_array(times, "event_times")
        v = as_float_array(values, "event_values")
        k = np.ascontiguousarray(kinds, dtype=np.int64).reshape(-1)
        if not (t.shape == k.shape == v.shape):
            raise MechanisticInputError("event arrays", "of equal length", [t.size, k.size])
        check_ordered(t, "event_times")
        if t.size > MAX_EVENTS:
            raise MechanisticInputError("event_times", f"at most {MAX_EVENTS} events", t.size)
        check_range(t, "event_times", 0.0, MAX_HORIZON_MIN, unit="min")
        check_range(k, "event_kinds", 0, 2, unit="(0 meal, 1 bolus, 2 basal)")
        check_range(v[k == MEAL], "meal_carbs", 0.0, MAX_MEAL_G, unit="g")
        check_range(v[k == BOLUS], "bolus", 0.0, MAX_BOLUS_U, unit="U")
        check_range(v[k == BASAL_RATE], "basal_rate", 0.0, MAX_BASAL_U_PER_H, unit="U/h")
        # A 0 g meal is no event at all: kept, it would cut the time line and so change
        # the RK4 steps (and the last bits of every output).
        keep = (k != MEAL) | (v > 0.0)
        return cls(t[keep], k[keep], v[keep])

    def kernel_arrays(self) -> tuple[FloatArray, IntArray, FloatArray]:
        """The kernel's events: minutes of eating, bolus rates, basal rates."""
        return kernel_events(self.times, self.kinds, self.values)


def simulate_glucose(
    subject: int,
    schedule: GlucoseSchedule,
    sample_times: npt.ArrayLike,
    dt_max: float = 1.0,
) -> tuple[FloatArray, FloatArray]:
    """Validated run of cohort subject ``subject`` (1-30) from its basal steady state.

    Returns ``(states at sample_times, [min in range, min below, min above, mean mg/dL])``;
    see :func:`~models.mechanistic.glucose_kernels.glucose_integrate`.
    """
    check_range(subject, "subject", 1, N_SUBJECTS)
    samples = as_float_array(sample_times, "sample_times")
    check_ordered(samples, "sample_times")
    check_range(samples, "sample_times", 0.0, MAX_HORIZON_MIN, unit="min")
    check_range(dt_max, "dt_max", MIN_DT_MIN, MAX_DT_MIN, unit="min")
    times, kinds, values = schedule.kernel_arrays()
    if samples[-1] / dt_max + samples.size + times.size > MAX_STEPS:
        raise MechanisticInputError("dt_max", f"large enough for at most {MAX_STEPS} steps")
    cohort = virtual_cohort()
    states, summary = glucose_integrate(
        cohort.params[int(subject) - 1].copy(),
        cohort.x0[int(subject) - 1].copy(),
        times,
        kinds,
        values,
        times.size,
        samples,
        float(dt_max),
    )
    return states, summary


def simulate_days(
    subjects: IntArray,
    meal_carbs: FloatArray,
    bolus_u: FloatArray,
    basal_u_per_h: FloatArray,
    sample_times: FloatArray,
    dt_max: float,
) -> tuple[FloatArray, FloatArray]:
    """Many days in one batch-kernel call (inputs already validated): subject ``k`` (1-30)
    of each row from its fasting steady state at midnight, a constant basal rate from 0,
    and at each of :data:`MEAL_TIMES_H` a meal (``meal_carbs[:, j]`` g, eaten at 5 g/min)
    with a bolus (``bolus_u`` U over one minute). Returns the kernel's ``(states,
    summary)``."""
    n = subjects.shape[0]
    cohort = virtual_cohort()
    index = subjects - 1
    n_meals = len(MEAL_TIMES_H)
    meals = np.asarray(MEAL_TIMES_H) * 60.0
    times = np.concatenate([[0.0], np.repeat(meals, 2)])
    kinds = np.array([BASAL_RATE] + [MEAL, BOLUS] * n_meals, dtype=np.int64)
    rows = []
    for i in range(n):
        values = np.empty(times.size)
        values[0] = basal_u_per_h[i]
        values[1::2] = meal_carbs[i]
        values[2::2] = bolus_u[i]
        rows.append(kernel_events(times, kinds, values))
    width = max(row[0].size for row in rows)
    event_times = np.zeros((n, width))
    event_kinds = np.zeros((n, width), dtype=np.int64)
    event_values = np.zeros((n, width))
    for i, (t, k, v) in enumerate(rows):
        event_times[i, : t.size], event_kinds[i, : t.size], event_values[i, : t.size] = t, k, v
    states, summary = glucose_integrate_batch(
        np.ascontiguousarray(cohort.params[index]),
        np.ascontiguousarray(cohort.x0[index]),
        event_times,
        event_kinds,
        event_values,
        np.array([row[0].size for row in rows], dtype=np.int64),
        sample_times,
        float(dt_max),
    )
    return states, summary


def outcomes_percent(summary: FloatArray, horizon_min: float) -> FloatArray:
    """Kernel summaries as twin outputs: minutes to % of the horizon, mean glucose as is."""
    out = summary.copy()
    out[:, :3] *= 100.0 / horizon_min
    return out


class GlucoseT1DTwin:
    """A day of a person with type 1 diabetes on multiple daily injections or a pump.

    Inputs (columns of ``X``): ``subject`` (virtual cohort subject 1-30 whose physiology is
    used: 1-10 adolescents, 11-20 adults, 21-30 children), ``carbs_g`` (carbohydrate of
    each of the three meals at 07:00, 12:00 and 18:00), ``bolus_u`` (rapid-acting insulin
    given with each meal) and ``basal_u_per_h`` (constant basal insulin). The day starts
    at midnight in the subject's fasting steady state. Outputs over the ``horizon_h``:
    ``time_in_range`` (% of time at 70-180 mg/dL), ``time_below_70`` (%),
    ``time_above_180`` (%) and ``mean_glucose`` (mg/dL), all of plasma glucose.
    """

    input_names: tuple[str, ...] = ("subject", "carbs_g", "bolus_u", "basal_u_per_h")
    output_names: tuple[str, ...] = (
        "time_in_range",
        "time_below_70",
        "time_above_180",
        "mean_glucose",
    )
    input_bounds: tuple[tuple[float, float, str], ...] = (
        (1.0, float(N_SUBJECTS), "cohort subject"),
        (0.0, 150.0, "g"),
        (0.0, 25.0, "U"),
        (0.0, 5.0, "U/h"),
    )

    def __init__(self, horizon_h: float = 24.0, dt_max: float = 1.0) -> None:
        self.horizon_h = horizon_h
        self.dt_max = dt_max

    def fit(self, X: npt.ArrayLike | None = None, y: npt.ArrayLike | None = None) -> GlucoseT1DTwin:
        """Nothing is learned (the cohort is fixed); validates the settings."""
        check_range(self.horizon_h, "horizon_h", MEAL_TIMES_H[-1], MAX_HORIZON_MIN / 60.0)
        check_range(self.dt_max, "dt_max", MIN_DT_MIN, MAX_DT_MIN, unit="min")
        if self.horizon_h * 60.0 / self.dt_max > MAX_STEPS:
            raise MechanisticInputError("dt_max", f"large enough for at most {MAX_STEPS} steps")
        self.n_features_in_ = len(self.input_names)
        return self

    def check_inputs(self, X: npt.ArrayLike) -> FloatArray:
        matrix = check_columns(X, self.input_names, self.input_bounds)
        if not np.all(matrix[:, 0] == np.round(matrix[:, 0])):
            raise MechanisticInputError("subject", "a whole number 1-30")
        return matrix

    def _run(self, X: npt.ArrayLike, sample_times: FloatArray) -> tuple[FloatArray, FloatArray]:
        self.fit()
        matrix = self.check_inputs(X)
        return simulate_days(
            matrix[:, 0].astype(np.int64),
            np.repeat(matrix[:, 1:2], len(MEAL_TIMES_H), axis=1),
            matrix[:, 2],
            matrix[:, 3],
            sample_times,
            float(self.dt_max),
        )

    def predict_all(self, X: npt.ArrayLike) -> FloatArray:
        """``(n, 4)`` ``[time_in_range, time_below_70, time_above_180, mean_glucose]``."""
        horizon = float(self.horizon_h) * 60.0
        _, summary = self._run(X, np.array([0.0, horizon]))
        return outcomes_percent(summary, horizon)

    def predict_outputs(self, X: npt.ArrayLike, output: str) -> FloatArray:
        """One named output for many input rows (what ``shap.ExactExplainer`` calls)."""
        if output not in self.output_names:
            raise MechanisticInputError("output", f"one of {', '.join(self.output_names)}", output)
        return np.ascontiguousarray(self.predict_all(X)[:, self.output_names.index(output)])

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        return self.predict_outputs(X, "time_in_range")

    def trajectory(self, x: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Plasma glucose (mg/dL) every 5 min over the horizon; times in hours."""
        self.fit()
        horizon = float(self.horizon_h) * 60.0
        samples = np.linspace(0.0, horizon, round(horizon / TRACE_STEP_MIN) + 1)
        states, _ = self._run(x, samples)
        index = int(self.check_inputs(x)[0, 0]) - 1
        glucose: FloatArray = states[0, :, 3] / virtual_cohort().params[index, VG]
        return samples / 60.0, glucose
