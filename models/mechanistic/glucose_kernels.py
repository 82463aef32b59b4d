"""UVA/Padova type 1 diabetes glucose-insulin model: numba kernels (pure computation).

Equations of the meal simulation model (Dalla Man C, Rizza RA, Cobelli C. Meal simulation
model of the glucose-insulin system. IEEE Trans Biomed Eng 2007;54(10):1740-1749) as used
in the type 1 simulator (Kovatchev BP, Breton M, Dalla Man C, Cobelli C. In silico
preclinical trials: a proof of concept in closed-loop control of type 1 diabetes.
J Diabetes Sci Technol 2009;3(1):44-55), with subcutaneous insulin and a subcutaneous
glucose sensor compartment, in the state layout of the public ``simglucose`` cohort
(``data/vpatient_params.csv``). Time in minutes; per-kg amounts::

    stomach, gut      dQsto1 = -kmax·Qsto1 + d(t)                  (d: eating, mg/min)
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

Inputs are piecewise constant, as simglucose's ``T1DPatient`` takes them minute by minute:
a meal is eaten at a rate ``d`` over whole minutes, an insulin bolus is a rate over one
minute on top of the basal rate. ``D`` is the stomach content (mg) when the current eating
began plus what has been eaten since, counting the current minute (simglucose's
``last_Qsto + last_foodtaken``, its issue 41); before any meal ``kempt = kmax``. Eating that
resumes right where it stopped continues the same meal; a minute of 0 g while not eating
leaves ``D`` as it was. Kernel events (``glucose_events.py`` makes them from a schedule of
meals, boluses and basal rates): kind 0 = eat ``value`` g over the next minute (rate
``value`` g/min until the next such event; 0 stops eating), 1 = bolus insulin rate (U/min
from that time on, 0 stops), 2 = basal rate (U/h from that time on). 1 U = 6000 pmol.

The insulin-independent uptake ``Fsnc`` is constant in the published model, so a large
insulin overdose could drive ``Gp`` below zero; as in simglucose, an empty glucose
compartment (plasma or tissue) loses no more glucose (the model is not meant for such
severe hypoglycaemia, but its states stay physical: after an overdose the tissue uptake
can then decay faster than a 1-min step resolves).

Integration: classical RK4 with the time line cut at every event and sample time, each piece
in equal steps of at most ``dt_max`` min, so jumps never fall inside a step (the shared
stepper, ``stepper.py``). The kinks of the
right-hand side (renal threshold ``Gp = ke2``, production floor ``EGP = 0``, empty plasma
compartments ``Gp = 0``, ``Gt = 0``) are located inside the step that crosses them (cubic Hermite
interpolation of the switching function, ``hermite.py``) and the step is redone in two parts,
so the method keeps its fourth order across them. While a meal is eaten, ``D`` grows each
minute and the gastric emptying switch (the tanh terms) sweeps between ``kmax`` and ``kmin``
within seconds as ``Qsto`` fills: each step then goes in :data:`EATING_SUBSTEPS` parts
(against simglucose's adaptive dopri5 over a day of all 30 subjects, the largest relative
difference in glucose fell from 4.4e-3 to 2.8e-5 at 1-min steps, for 7 more steps per
minute of eating: a fifth more work on a day of 190 g).

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
from models.mechanistic.stepper import Rhs, State, integrate_events, replace, rk4_advance, rk4_step

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

EAT = 0
BOLUS_RATE = 1
BASAL = 2
PMOL_PER_U = 6000.0
LOW_MG_DL = 70.0
HIGH_MG_DL = 180.0
#: Summary columns: minutes in range / below / above, mean glucose (mg/dL), in that order.
N_SUMMARY = 4
#: The right-hand side's inputs over a piece: parameters, insulin infusion (pmol/kg/min),
#: eating (mg/min) and ``D`` (mg).
Args = tuple[FloatArray, float, float, float]
#: ``controls`` (set by the events): basal and bolus insulin (pmol/kg/min), eating (mg/min),
#: stomach content when the current eating began (mg), grams eaten since.
BASAL_IIR, BOLUS_IIR, EATING, LAST_QSTO, FOOD_TAKEN = range(5)
N_CONTROLS = 5
#: Steps per step while eating (see the module's docstring).
EATING_SUBSTEPS = 8


@njit(cache=True)
def _deriv(t: float, y: State, args: Args) -> State:
    """Right-hand side (``args``: parameters, insulin infusion in pmol/kg/min, eating in
    mg/min, ``D`` in mg)."""
    p, iir, eat, dbar = args
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
    gp = y[GP]
    gt = y[GT]
    egp = p[KP1] - p[KP2] * gp - p[KP3] * y[ID]
    if egp < 0.0:
        egp = 0.0
    renal = p[KE1] * (gp - p[KE2]) if gp > p[KE2] else 0.0
    ra = p[F] * absorbed / p[BW]
    uid = (p[VM0] + p[VMX] * y[XI]) * gt / (p[KM0] + gt)
    dgp = egp + ra - p[FSNC] - renal - p[K1] * gp + p[K2] * gt
    dgt = -uid + p[K1] * gp - p[K2] * gt
    insulin = y[IP] / p[VI]
    return (
        eat - kmax * y[QSTO1],
        kmax * y[QSTO1] - emptied,
        emptied - absorbed,
        0.0 if gp <= 0.0 and dgp < 0.0 else dgp,
        0.0 if gt <= 0.0 and dgt < 0.0 else dgt,
        -(p[M2] + p[M4]) * y[IP] + p[M1] * y[IL] + p[KA1] * y[ISC1] + p[KA2] * y[ISC2],
        p[P2U] * (insulin - p[IB] - y[XI]),
        -p[KI] * (y[I1] - insulin),
        -p[KI] * (y[ID] - y[I1]),
        -(p[M1] + p[M30]) * y[IL] + p[M2] * y[IP],
        iir - (p[KD] + p[KA1]) * y[ISC1],
        p[KD] * y[ISC1] - p[KA2] * y[ISC2],
        p[KSC] * (gp - y[GS]),
        gp,
    )


@njit(cache=True)
def _state(x: FloatArray, auc: float) -> State:
    """The state from the physiology (the first ``N_PHYSIOLOGY`` values of ``x``) and AUC."""
    return (x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10], x[11], x[12], auc)


@njit(cache=True)
def _rhs(y: FloatArray, p: FloatArray, iir: float, eat: float, dbar: float, dy: FloatArray) -> None:
    """The right-hand side between arrays (``iir``: insulin in pmol/kg/min, ``eat``: mg/min),
    for callers outside the kernel such as scipy in ``bench.py``."""
    d = _deriv(0.0, _state(y, y[AUC]), (p, iir, eat, dbar))
    for j in range(N_STATE):
        dy[j] = d[j]


@njit(cache=True)
def _switches(y: State, dy: State, p: FloatArray) -> tuple[float, float, float, float]:
    """Renal and production switching functions and their time derivatives."""
    renal = y[GP] - p[KE2]
    production = p[KP1] - p[KP2] * y[GP] - p[KP3] * y[ID]
    return renal, dy[GP], production, -p[KP2] * dy[GP] - p[KP3] * dy[ID]


@njit(cache=True)
def _tally(
    y0: State, d0: State, y1: State, d1: State, h: float, vg: float, summary: FloatArray
) -> None:
    """Add the step's minutes below 70 and above 180 mg/dL (in range is the rest)."""
    g0 = y0[GP] / vg
    g1 = y1[GP] / vg
    m0 = h * d0[GP] / vg
    m1 = h * d1[GP] / vg
    summary[1] += h * below(g0, g1, m0, m1, LOW_MG_DL)
    summary[2] += h * (1.0 - below(g0, g1, m0, m1, HIGH_MG_DL))


@njit(cache=True)
def _empty(y: State) -> State:
    """At a located crossing a glucose compartment is empty (rounding may leave -0)."""
    if y[GP] < 0.0:
        y = replace(y, GP, 0.0)
    if y[GT] < 0.0:
        y = replace(y, GT, 0.0)
    return y


#: What the stepper's callbacks get: parameters, event kinds and values, the ``controls``
#: as the events set them, and the summary being tallied.
Context = tuple[FloatArray, IntArray, FloatArray, FloatArray, FloatArray]


@njit(cache=True, inline="always")
def _step(
    rhs: Rhs, t: float, y: State, k1: State, h: float, args: Args, ctx: Context,
) -> tuple[State, State]:  # fmt: skip
    """The state after ``h`` and its derivative, the step's minutes out of range tallied; a
    step that crosses a kink of the right-hand side is redone in two parts split there."""
    p = args[0]
    summary = ctx[4]
    new, d_new = rk4_advance(rhs, t, y, k1, h, args)
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
        new = _empty(rk4_step(rhs, t, y, k1, first, args))
        d_new = rhs(t + first, new, args)
        _tally(y, k1, new, d_new, first, p[VG], summary)
        y = new
        k1 = d_new
        t = t + first
        h = h - first
        new, d_new = rk4_advance(rhs, t, y, k1, h, args)
    if new[GP] < 0.0 or new[GT] < 0.0:  # a crossing located at the very start of the step
        new = _empty(new)
        d_new = rhs(t + h, new, args)
    _tally(y, k1, new, d_new, h, p[VG], summary)
    return new, d_new


@njit(cache=True, inline="always")
def _substeps(
    rhs: Rhs, t: float, y: State, k1: State, h: float, args: Args, ctx: Context,
) -> tuple[State, State]:  # fmt: skip
    """:func:`_step`, in :data:`EATING_SUBSTEPS` equal parts while eating."""
    if args[2] <= 0.0:
        return _step(rhs, t, y, k1, h, args, ctx)
    part = h / EATING_SUBSTEPS
    for i in range(EATING_SUBSTEPS):
        y, k1 = _step(rhs, t + i * part, y, k1, part, args, ctx)
    return y, k1


@njit(cache=True)
def _event(i: int, y: State, ctx: Context) -> State:
    """Event ``i``: a minute of eating, a bolus insulin rate, or a new basal rate."""
    params, kinds, values, controls, _ = ctx
    per_u = PMOL_PER_U / params[BW]
    kind = kinds[i]
    value = values[i]
    if kind == EAT:
        if value > 0.0:
            if controls[EATING] <= 0.0:  # eating begins: D counts from what is left
                controls[LAST_QSTO] = y[QSTO1] + y[QSTO2]
                controls[FOOD_TAKEN] = 0.0
            controls[FOOD_TAKEN] += value
        controls[EATING] = 1000.0 * value
    elif kind == BOLUS_RATE:
        controls[BOLUS_IIR] = value * per_u
    else:
        controls[BASAL_IIR] = value / 60.0 * per_u
    return y


@njit(cache=True)
def _piece_args(ctx: Context, t0: float, t1: float) -> Args:
    controls = ctx[3]
    dbar = controls[LAST_QSTO] + 1000.0 * controls[FOOD_TAKEN]
    return ctx[0], controls[BASAL_IIR] + controls[BOLUS_IIR], controls[EATING], dbar


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
    summary = np.zeros(N_SUMMARY)
    controls = np.zeros(N_CONTROLS)
    controls[LAST_QSTO] = x0[QSTO1] + x0[QSTO2]
    ctx = (params, event_kinds, event_values, controls, summary)
    states, y = integrate_events(
        _deriv, _substeps, _event, _piece_args, ctx, _state(x0, 0.0), event_times, n_events,
        np.empty(0), sample_times, dt_max,
    )  # fmt: skip
    if sample_times.shape[0] == 0:
        return states, summary
    t_end = sample_times[sample_times.shape[0] - 1]
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
