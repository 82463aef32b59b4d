"""UVA/Padova type 1 diabetes glucose-insulin model: numba kernels (pure computation).

Equations of the meal simulation model (Dalla Man C, Rizza RA, Cobelli C. Meal simulation
model of the glucose-insulin system. IEEE Trans Biomed Eng 2007;54(10):1740-1749) as used
in the type 1 simulator (Kovatchev BP, Breton M, Dalla Man C, Cobelli C. In silico
preclinical trials: a proof of concept in closed-loop control of type 1 diabetes.
J Diabetes Sci Technol 2009;3(1):44-55), with subcutaneous insulin and a subcutaneous
glucose sensor compartment, in the state layout of the public ``simglucose`` cohort
(``data/vpatient_params.csv``). Time in minutes; per-kg amounts::

    stomach, gut      dQsto1 = -kmax·Qsto1                         (meal: Qsto1 += D)
                      dQsto2 =  kmax·Qsto1 - kempt(Qsto)·Qsto2
                      dQgut  =  kempt(Qsto)·Qsto2 - kabs·Qgut,     Ra = f·kabs·Qgut / BW
    gastric emptying  kempt = kmin + (kmax-kmin)/2·[tanh(a·(Qsto - b·D))
                                                  - tanh(c'·(Qsto - c·D)) + 2]
                      a = 5 / (2·D·(1-b)),  c' = 5 / (2·D·c),  Qsto = Qsto1 + Qsto2
    glucose           dGp = max(EGP, 0) + Ra - Fsnc - E - k1·Gp + k2·Gt   (0 if Gp = 0 and < 0)
                      dGt = -(Vm0 + Vmx·X)·Gt / (Km0 + Gt) + k1·Gp - k2·Gt   (same floor)
                      G = Gp / Vg
                      EGP = kp1 - kp2·Gp - kp3·Id,   E = ke1·max(Gp - ke2, 0)
    insulin           dIp = -(m2 + m4)·Ip + m1·Il + ka1·Isc1 + ka2·Isc2,   I = Ip / Vi
                      dIl = -(m1 + m30)·Il + m2·Ip
                      dX  = -p2u·X + p2u·(I - Ib)
                      dI1 = -ki·(I1 - I),   dId = -ki·(Id - I1)
    s.c. insulin      dIsc1 = IIR(t) - (kd + ka1)·Isc1              (bolus: Isc1 += dose)
                      dIsc2 = kd·Isc1 - ka2·Isc2
    sensor            dGs = -ksc·Gs + ksc·Gp
    quadrature        dAUC = Gp                                   (mean glucose = AUC/(Vg·T))

``D`` is the stomach content just after the last meal (what was left plus the meal, as
simglucose does); before any meal ``kempt = kmax``. Events: kind 0 = meal (grams of
carbohydrate, taken at once), 1 = insulin bolus (U, subcutaneous), 2 = basal rate (U/h from
that time on). 1 U = 6000 pmol.

The insulin-independent uptake ``Fsnc`` is constant in the published model, so a large
insulin overdose could drive ``Gp`` below zero; as in simglucose, an empty glucose
compartment (plasma or tissue) loses no more glucose (the model is not meant for such
severe hypoglycaemia, but its states stay physical: after an overdose the tissue uptake
can then decay faster than a 1-min step resolves).

Integration: classical RK4 with the time line cut at every event and sample time, each piece
in equal steps of at most ``dt_max`` min, so jumps never fall inside a step. The kinks of the
right-hand side (renal threshold ``Gp = ke2``, production floor ``EGP = 0``, empty plasma
compartments ``Gp = 0``, ``Gt = 0``) are located inside the step that crosses them (cubic Hermite
interpolation of the switching function, ``hermite.py``) and the step is redone in two parts,
so the method keeps its fourth order across them.

Time in range (70-180 mg/dL), below 70 and above 180 are measured on the cubic Hermite
interpolant of ``G`` over each step (values and slopes at both ends), splitting the step at
the interpolant's extrema and bisecting for each threshold crossing.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from models.mechanistic.hermite import below, crossing

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# -- parameter vector layout ------------------------------------------------------------
BW, VG, VI, K1, K2, VM0, VMX, KM0, P2U, IB = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
KP1, KP2, KP3, KI, FSNC, KE1, KE2, M1, M2, M4 = 10, 11, 12, 13, 14, 15, 16, 17, 18, 19
M30, KA1, KA2, KD, KMAX, KMIN, KABS, B, C, F = 20, 21, 22, 23, 24, 25, 26, 27, 28, 29
KSC = 30
N_PARAMS = 31
#: Column names of the cohort table, in parameter-vector order (``C`` is simglucose's ``d``).
PARAM_COLUMNS: tuple[str, ...] = (
    "BW", "Vg", "Vi", "k1", "k2", "Vm0", "Vmx", "Km0", "p2u", "Ib",
    "kp1", "kp2", "kp3", "ki", "Fsnc", "ke1", "ke2", "m1", "m2", "m4",
    "m30", "ka1", "ka2", "kd", "kmax", "kmin", "kabs", "b", "d", "f",
    "ksc",
)  # fmt: skip

# -- state layout -------------------------------------------------------------------------
QSTO1, QSTO2, QGUT, GP, GT, IP, XI, I1, ID, IL, ISC1, ISC2, GS, AUC = range(14)
N_PHYSIOLOGY = 13
N_STATE = 14

MEAL = 0
BOLUS = 1
BASAL = 2
PMOL_PER_U = 6000.0
LOW_MG_DL = 70.0
HIGH_MG_DL = 180.0
#: Summary columns: minutes in range / below / above, mean glucose (mg/dL), in that order.
N_SUMMARY = 4


@njit(cache=True)
def _rhs(y: FloatArray, p: FloatArray, iir: float, dbar: float, dy: FloatArray) -> None:
    """Right-hand side into ``dy`` (``iir``: basal insulin in pmol/kg/min)."""
    qsto = y[QSTO1] + y[QSTO2]
    kmax = p[KMAX]
    if dbar > 0.0:
        a = 2.5 / ((1.0 - p[B]) * dbar)
        c = 2.5 / (p[C] * dbar)
        kempt = p[KMIN] + 0.5 * (kmax - p[KMIN]) * (
            math.tanh(a * (qsto - p[B] * dbar)) - math.tanh(c * (qsto - p[C] * dbar)) + 2.0
        )
    else:
        kempt = kmax
    emptied = kempt * y[QSTO2]
    absorbed = p[KABS] * y[QGUT]
    dy[QSTO1] = -kmax * y[QSTO1]
    dy[QSTO2] = kmax * y[QSTO1] - emptied
    dy[QGUT] = emptied - absorbed
    gp = y[GP]
    gt = y[GT]
    egp = p[KP1] - p[KP2] * gp - p[KP3] * y[ID]
    if egp < 0.0:
        egp = 0.0
    renal = p[KE1] * (gp - p[KE2]) if gp > p[KE2] else 0.0
    ra = p[F] * absorbed / p[BW]
    uid = (p[VM0] + p[VMX] * y[XI]) * gt / (p[KM0] + gt)
    dgp = egp + ra - p[FSNC] - renal - p[K1] * gp + p[K2] * gt
    dy[GP] = 0.0 if gp <= 0.0 and dgp < 0.0 else dgp
    dgt = -uid + p[K1] * gp - p[K2] * gt
    dy[GT] = 0.0 if gt <= 0.0 and dgt < 0.0 else dgt
    insulin = y[IP] / p[VI]
    dy[IP] = -(p[M2] + p[M4]) * y[IP] + p[M1] * y[IL] + p[KA1] * y[ISC1] + p[KA2] * y[ISC2]
    dy[XI] = p[P2U] * (insulin - p[IB] - y[XI])
    dy[I1] = -p[KI] * (y[I1] - insulin)
    dy[ID] = -p[KI] * (y[ID] - y[I1])
    dy[IL] = -(p[M1] + p[M30]) * y[IL] + p[M2] * y[IP]
    dy[ISC1] = iir - (p[KD] + p[KA1]) * y[ISC1]
    dy[ISC2] = p[KD] * y[ISC1] - p[KA2] * y[ISC2]
    dy[GS] = p[KSC] * (gp - y[GS])
    dy[AUC] = gp


@njit(cache=True)
def _switches(y: FloatArray, dy: FloatArray, p: FloatArray) -> tuple[float, float, float, float]:
    """Renal and production switching functions and their time derivatives."""
    renal = y[GP] - p[KE2]
    production = p[KP1] - p[KP2] * y[GP] - p[KP3] * y[ID]
    return renal, dy[GP], production, -p[KP2] * dy[GP] - p[KP3] * dy[ID]


@njit(cache=True)
def _rk4(
    y: FloatArray,
    k1: FloatArray,
    h: float,
    p: FloatArray,
    iir: float,
    dbar: float,
    work: FloatArray,
    out: FloatArray,
) -> None:
    """One RK4 step from ``y`` (whose derivative is ``k1``) into ``out``."""
    k2 = work[0]
    k3 = work[1]
    k4 = work[2]
    tmp = work[3]
    for j in range(N_STATE):
        tmp[j] = y[j] + 0.5 * h * k1[j]
    _rhs(tmp, p, iir, dbar, k2)
    for j in range(N_STATE):
        tmp[j] = y[j] + 0.5 * h * k2[j]
    _rhs(tmp, p, iir, dbar, k3)
    for j in range(N_STATE):
        tmp[j] = y[j] + h * k3[j]
    _rhs(tmp, p, iir, dbar, k4)
    for j in range(N_STATE):
        out[j] = y[j] + h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j])


@njit(cache=True)
def _tally(
    y0: FloatArray, d0: FloatArray, y1: FloatArray, d1: FloatArray, h: float, vg: float,
    summary: FloatArray,
) -> None:  # fmt: skip
    """Add the step's minutes below 70 and above 180 mg/dL (in range is the rest)."""
    g0 = y0[GP] / vg
    g1 = y1[GP] / vg
    m0 = h * d0[GP] / vg
    m1 = h * d1[GP] / vg
    summary[1] += h * below(g0, g1, m0, m1, LOW_MG_DL)
    summary[2] += h * (1.0 - below(g0, g1, m0, m1, HIGH_MG_DL))


@njit(cache=True)
def _empty(y: FloatArray) -> None:
    """At a located crossing a glucose compartment is empty (rounding may leave -0)."""
    if y[GP] < 0.0:
        y[GP] = 0.0
    if y[GT] < 0.0:
        y[GT] = 0.0


@njit(cache=True)
def _step(
    y: FloatArray,
    k1: FloatArray,
    h: float,
    p: FloatArray,
    iir: float,
    dbar: float,
    work: FloatArray,
    summary: FloatArray,
) -> None:
    """Advance ``y`` by ``h`` in place and refresh ``k1`` at the new state; a step that
    crosses a kink of the right-hand side is redone in two parts split at the crossing."""
    new = work[4]
    d_new = work[5]
    _rk4(y, k1, h, p, iir, dbar, work, new)
    _rhs(new, p, iir, dbar, d_new)
    r0, dr0, e0, de0 = _switches(y, k1, p)
    r1, dr1, e1, de1 = _switches(new, d_new, p)
    split = 1.0
    if (r0 > 0.0) != (r1 > 0.0):
        split = min(split, crossing(r0, r1, h * dr0, h * dr1))
    if (e0 > 0.0) != (e1 > 0.0):
        split = min(split, crossing(e0, e1, h * de0, h * de1))
    for j in (GP, GT):
        if y[j] > 0.0 and new[j] <= 0.0:
            split = min(split, crossing(y[j], new[j], h * k1[j], h * d_new[j]))
    if 0.0 < split < 1.0:
        first = split * h
        _rk4(y, k1, first, p, iir, dbar, work, new)
        _empty(new)
        _rhs(new, p, iir, dbar, d_new)
        _tally(y, k1, new, d_new, first, p[VG], summary)
        y[:] = new
        k1[:] = d_new
        h = h - first
        _rk4(y, k1, h, p, iir, dbar, work, new)
        _rhs(new, p, iir, dbar, d_new)
    if new[GP] < 0.0 or new[GT] < 0.0:  # a crossing located at the very start of the step
        _empty(new)
        _rhs(new, p, iir, dbar, d_new)
    _tally(y, k1, new, d_new, h, p[VG], summary)
    y[:] = new
    k1[:] = d_new


@njit(cache=True)
def glucose_integrate(
    params: FloatArray,
    x0: FloatArray,
    event_times: FloatArray,
    event_kinds: IntArray,
    event_values: FloatArray,
    n_events: int,
    sample_times: FloatArray,
    dt_max: float,
) -> tuple[FloatArray, FloatArray]:
    """One patient from the physiological state ``x0`` (13 values) at time 0.

    Events (first ``n_events`` entries, times non-decreasing, at or after 0) act at their
    time; the basal rate is 0 until the first basal event. Returns ``(states, summary)``:
    the state (``N_STATE`` columns, right-continuous: after events at that instant) at each
    of the sorted ``sample_times``, and ``[minutes in 70-180 mg/dL, minutes below 70,
    minutes above 180, mean glucose in mg/dL]`` over ``[0, last sample time]``.
    """
    n_samples = sample_times.shape[0]
    states = np.zeros((n_samples, N_STATE))
    summary = np.zeros(N_SUMMARY)
    if n_samples == 0:
        return states, summary
    t_end = sample_times[n_samples - 1]
    points = np.empty(1 + n_events + n_samples)
    points[0] = 0.0
    points[1 : 1 + n_events] = event_times[:n_events]
    points[1 + n_events :] = sample_times
    points = np.sort(points)
    y = np.zeros(N_STATE)
    y[:N_PHYSIOLOGY] = x0[:N_PHYSIOLOGY]
    k1 = np.empty(N_STATE)
    work = np.empty((6, N_STATE))
    per_u = PMOL_PER_U / params[BW]
    iir = 0.0
    dbar = 0.0
    next_event = 0
    next_sample = 0
    k = 0
    n_points = points.shape[0]
    while k < n_points and points[k] <= t_end:
        t = points[k]
        while next_event < n_events and event_times[next_event] <= t:
            kind = event_kinds[next_event]
            value = event_values[next_event]
            if kind == MEAL:
                y[QSTO1] += 1000.0 * value
                dbar = y[QSTO1] + y[QSTO2]
            elif kind == BOLUS:
                y[ISC1] += value * per_u
            else:
                iir = value / 60.0 * per_u
            next_event += 1
        while next_sample < n_samples and sample_times[next_sample] <= t:
            states[next_sample, :] = y
            next_sample += 1
        j = k + 1
        while j < n_points and points[j] <= t:
            j += 1
        if j < n_points and points[j] <= t_end:
            span = points[j] - t
            n = math.ceil(span / dt_max)
            h = span / n
            _rhs(y, params, iir, dbar, k1)
            for _ in range(n):
                _step(y, k1, h, params, iir, dbar, work, summary)
        k = j
    if t_end > 0.0:
        summary[0] = t_end - summary[1] - summary[2]
        summary[3] = y[AUC] / (params[VG] * t_end)
    else:
        summary[3] = y[GP] / params[VG]
    return states, summary


@njit(parallel=True, cache=True)
def glucose_integrate_batch(
    params: FloatArray,
    x0: FloatArray,
    event_times: FloatArray,
    event_kinds: IntArray,
    event_values: FloatArray,
    n_events: IntArray,
    sample_times: FloatArray,
    dt_max: float,
) -> tuple[FloatArray, FloatArray]:
    """Many patients (row ``i`` of each 2-D input), shared sample times:
    ``(states (n, n_samples, N_STATE), summary (n, N_SUMMARY))``."""
    n = params.shape[0]
    states = np.empty((n, sample_times.shape[0], N_STATE))
    summary = np.empty((n, N_SUMMARY))
    for i in prange(n):
        s, row = glucose_integrate(
            params[i],
            x0[i],
            event_times[i],
            event_kinds[i],
            event_values[i],
            n_events[i],
            sample_times,
            dt_max,
        )
        states[i] = s
        summary[i] = row
    return states, summary
