"""A person's glucose days: the data a calibration uses, the basal steady state, CGM runs.

:class:`GlucoseDays` holds one person's record over days, on one clock in minutes from
its start: meals, boluses and basal rates (a :class:`~models.mechanistic.glucose.
GlucoseSchedule`: meals eaten at 5 g/min, boluses over one minute), CGM readings (mg/dL,
the sensor compartment), finger-stick readings (mg/dL, capillary blood: the plasma
compartment), the body weight and the observation ids. The day starts in the fasting
steady state at the first basal rate (:func:`steady_state`). :func:`simulate_readings`
runs many parameter vectors over the same record in one batch-kernel call and reads each
reading from its own compartment at its own time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from models.calibration.errors import GlucoseDataError
from models.mechanistic._validation import FloatArray, IntArray
from models.mechanistic.glucose import MAX_HORIZON_MIN, GlucoseSchedule
from models.mechanistic.glucose_events import BASAL_RATE, MEAL
from models.mechanistic.glucose_kernels import (
    BW,
    FSNC,
    GP,
    GS,
    GT,
    I1,
    IB,
    ID,
    IL,
    IP,
    ISC1,
    ISC2,
    K1,
    K2,
    KA1,
    KA2,
    KD,
    KE1,
    KE2,
    KM0,
    KP1,
    KP2,
    KP3,
    M1,
    M2,
    M4,
    M30,
    N_PHYSIOLOGY,
    PMOL_PER_U,
    VG,
    VI,
    VM0,
    VMX,
    XI,
    glucose_integrate_batch,
)

#: At least this many CGM readings (a day at 5-min sampling is 288).
MIN_CGM = 36
MIN_WEIGHT_KG, MAX_WEIGHT_KG = 10.0, 300.0
MIN_CGM_MG_DL, MAX_CGM_MG_DL = 20.0, 600.0
#: Integration step (min), as the glucose twin runs.
DT_MAX_MIN = 1.0


@dataclass(frozen=True)
class GlucoseDays:
    """One person's glucose record (times in minutes from its start, sorted)."""

    schedule: GlucoseSchedule
    cgm_times: FloatArray
    cgm_mg_dl: FloatArray
    weight_kg: float
    observation_ids: tuple[str, ...] = ()
    #: Finger-stick (capillary) glucose: times (min, non-decreasing) and values (mg/dL).
    fingerstick_times: FloatArray = field(default_factory=lambda: np.empty(0))
    fingerstick_mg_dl: FloatArray = field(default_factory=lambda: np.empty(0))

    def basal_u_per_h(self) -> float:
        """The basal rate at the start (the schedule's basal event at time 0)."""
        at_start = (self.schedule.kinds == BASAL_RATE) & (self.schedule.times == 0.0)
        return float(self.schedule.values[at_start][-1])


def check_days(days: GlucoseDays) -> None:
    """Raise :class:`GlucoseDataError` for data a calibration cannot use."""
    t, g = days.cgm_times, days.cgm_mg_dl
    if t.ndim != 1 or t.shape != g.shape:
        raise GlucoseDataError("cgm", "contradictory", "times and values differ in length")
    if t.size < MIN_CGM:
        raise GlucoseDataError("cgm", "missing", f"at least {MIN_CGM} CGM readings, got {t.size}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(g))):
        raise GlucoseDataError("cgm", "invalid", "non-finite time or value")
    if np.any(np.diff(t) <= 0.0) or t[0] < 0.0 or t[-1] > MAX_HORIZON_MIN:
        raise GlucoseDataError(
            "cgm", "invalid", f"times increasing within [0, {MAX_HORIZON_MIN:g}] min"
        )
    if np.any((g < MIN_CGM_MG_DL) | (g > MAX_CGM_MG_DL)):
        raise GlucoseDataError(
            "cgm", "invalid", f"values within [{MIN_CGM_MG_DL:g}, {MAX_CGM_MG_DL:g}] mg/dL"
        )
    if not MIN_WEIGHT_KG <= days.weight_kg <= MAX_WEIGHT_KG:
        raise GlucoseDataError("weight", "invalid", f"{MIN_WEIGHT_KG:g}-{MAX_WEIGHT_KG:g} kg")
    _check_fingersticks(days.fingerstick_times, days.fingerstick_mg_dl)
    kinds, times = days.schedule.kinds, days.schedule.times
    if not np.any((kinds == BASAL_RATE) & (times == 0.0)):
        raise GlucoseDataError("basal", "missing", "a basal rate in force at the start")
    if days.basal_u_per_h() <= 0.0:
        raise GlucoseDataError("basal", "invalid", "a basal rate above 0 at the start")
    if not np.any(kinds == MEAL):
        raise GlucoseDataError("meal", "missing", "at least one meal (kabs is fitted on meals)")


def _check_fingersticks(t: FloatArray, g: FloatArray) -> None:
    if t.ndim != 1 or t.shape != g.shape:
        raise GlucoseDataError("fingerstick", "contradictory", "times and values differ in length")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(g))):
        raise GlucoseDataError("fingerstick", "invalid", "non-finite time or value")
    if t.size and (np.any(np.diff(t) < 0.0) or t[0] < 0.0 or t[-1] > MAX_HORIZON_MIN):
        raise GlucoseDataError(
            "fingerstick", "invalid", f"times in order within [0, {MAX_HORIZON_MIN:g}] min"
        )
    if np.any((g < MIN_CGM_MG_DL) | (g > MAX_CGM_MG_DL)):
        raise GlucoseDataError(
            "fingerstick", "invalid", f"values within [{MIN_CGM_MG_DL:g}, {MAX_CGM_MG_DL:g}] mg/dL"
        )


def _steady_glucose(params: FloatArray, x: float, i_ss: float) -> tuple[float, float]:
    """``(Gp, Gt)`` with ``dGp = dGt = 0`` at insulin action ``x`` and insulin ``i_ss``."""
    uptake = params[VM0] + params[VMX] * x

    def gp_of(gt: float) -> float:
        return float((uptake * gt / (params[KM0] + gt) + params[K2] * gt) / params[K1])

    def balance(gt: float) -> float:  # decreasing in gt
        gp = gp_of(gt)
        egp = max(params[KP1] - params[KP2] * gp - params[KP3] * i_ss, 0.0)
        renal = params[KE1] * max(gp - params[KE2], 0.0)
        return float(egp - params[FSNC] - renal - uptake * gt / (params[KM0] + gt))

    if balance(0.0) <= 0.0:
        return 0.0, 0.0
    gt = float(brentq(balance, 0.0, 1e5, xtol=1e-12, rtol=1e-15))
    return gp_of(gt), gt


def basal_insulin(params: FloatArray, basal_u_per_h: float) -> float:
    """Plasma insulin (pmol/L) in steady state at the basal rate."""
    u = basal_u_per_h / 60.0 * PMOL_PER_U / params[BW]
    liver = params[M1] * params[M2] / (params[M1] + params[M30])
    return float(u / (params[M2] + params[M4] - liver) / params[VI])


def steady_state(params: FloatArray, basal_u_per_h: float) -> FloatArray:
    """The fasting steady state (13 physiological states) at the basal rate (U/h)."""
    u = basal_u_per_h / 60.0 * PMOL_PER_U / params[BW]
    x0 = np.zeros(N_PHYSIOLOGY)
    x0[ISC1] = u / (params[KD] + params[KA1])
    x0[ISC2] = params[KD] * x0[ISC1] / params[KA2]
    x0[IP] = basal_insulin(params, basal_u_per_h) * params[VI]
    x0[IL] = params[M2] * x0[IP] / (params[M1] + params[M30])
    i_ss = x0[IP] / params[VI]
    x0[XI] = i_ss - params[IB]
    x0[I1] = x0[ID] = i_ss
    x0[GP], x0[GT] = _steady_glucose(params, x0[XI], i_ss)
    x0[GS] = x0[GP]
    return x0


@dataclass(frozen=True)
class KernelDays:
    """The record as kernel inputs, made once per calibration: the sample times are the
    CGM and finger-stick times together (sorted, once each); ``cgm_at`` and
    ``fingerstick_at`` index each reading's sample."""

    times: FloatArray
    kinds: IntArray
    values: FloatArray
    samples: FloatArray
    basal_u_per_h: float
    cgm_at: IntArray
    fingerstick_at: IntArray


def kernel_days(days: GlucoseDays) -> KernelDays:
    times, kinds, values = days.schedule.kernel_arrays()
    samples = np.union1d(days.cgm_times, days.fingerstick_times)
    return KernelDays(
        times,
        kinds,
        values,
        samples,
        days.basal_u_per_h(),
        np.searchsorted(samples, days.cgm_times).astype(np.int64),
        np.searchsorted(samples, days.fingerstick_times).astype(np.int64),
    )


def simulate_cgm(rows: FloatArray, record: KernelDays) -> FloatArray:
    """CGM (sensor glucose, mg/dL) at the record's CGM times for each parameter row."""
    return simulate_readings(rows, record)[0]


def simulate_readings(rows: FloatArray, record: KernelDays) -> tuple[FloatArray, FloatArray]:
    """For each parameter row: sensor glucose at the CGM times and plasma glucose at the
    finger-stick times (mg/dL), from one batch-kernel call."""
    states = run_record(rows, record.basal_u_per_h, record.times, record.kinds, record.values,
                        record.samples)  # fmt: skip
    vg = rows[:, VG][:, None]
    cgm: FloatArray = states[:, record.cgm_at, GS] / vg
    plasma: FloatArray = states[:, record.fingerstick_at, GP] / vg
    return cgm, plasma


def run_record(
    rows: FloatArray,
    basal_u_per_h: float,
    times: FloatArray,
    kinds: IntArray,
    values: FloatArray,
    samples: FloatArray,
) -> FloatArray:
    """The states at ``samples`` of each row from its fasting steady state at the basal
    rate, under the kernel events ``(times, kinds, values)``: ``(n, samples, N_STATE)``."""
    n = rows.shape[0]
    x0 = np.stack([steady_state(row, basal_u_per_h) for row in rows])
    states, _ = glucose_integrate_batch(
        np.ascontiguousarray(rows),
        x0,
        np.tile(times, (n, 1)),
        np.tile(kinds, (n, 1)),
        np.tile(values, (n, 1)),
        np.full(n, times.size, dtype=np.int64),
        samples,
        DT_MAX_MIN,
    )
    result: FloatArray = states
    return result
