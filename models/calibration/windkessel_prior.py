"""The Windkessel prior: log-normal individual deviations of R_p and C, cuff residual error.

The calibrated parameters are the peripheral resistance ``R_p`` (mmHg·s/mL) and the total
arterial compliance ``C`` (mL/mmHg) of the three-element Windkessel
(:mod:`models.mechanistic.windkessel`): ``θ = TYPICAL · exp(η)``, ``η ~ N(0, diag(OMEGA²))``.

Typical values are the card's (``models/mechanistic_demo.py``, ``_windkessel_population``):
the geometric mean of its reference population, whose resistance is log-normal around
0.95 and compliance around 1.8 times (resp. divided by) an age factor ``1 + 0.08·band``
with age bands drawn 0.25/0.40/0.35, so ``exp(E ln factor) = 1.0862``. The characteristic
resistance ``R_c`` is the card's 0.05 mmHg·s/mL, fixed; the stroke volume, unless observed,
the card population's mean, ``0.5·75 + 0.5·62 = 68.5`` mL; the reference heart rate its
mean, 72 bpm.

OMEGA (chosen, with these sources for the spread within a group): total peripheral
resistance varies with a CV of 0.15-0.20 within a decade and sex (Woodford S, Avolio A,
Butlin M. Noninvasive measurements of normal values of stroke volume and total peripheral
resistance accounting for age and sex differences; 1,051 adults 50-100 years: e.g.
1,040 ± 160 and 1,200 ± 240 dyn·s/cm⁵), and total arterial compliance estimated as
SV/PP with a CV of about 0.30 in young adults (Tecumseh Blood Pressure Study, 801 adults
aged 30 ± 5.6: 1.90 ± 0.58 mL/mmHg in men, 2.00 ± 0.62 in women; "Correlates of the
estimated arterial compliance in the population of Tecumseh, Michigan"). Age and sex are
not covariates of this twin, and both quantities change with age, so the prior is wider:
ω = 0.25 for ``R_p`` and 0.35 for ``C`` (log scale).

Residual error: a cuff reading's systolic and diastolic each ``N(0, 8²)`` mmHg,
independent: the accuracy bound of ISO 81060-2 (and AAMI SP10) for a validated
non-invasive sphygmomanometer (mean difference to the reference within ±5 mmHg, its SD
at most 8 mmHg). It is an instrument bound; beat-to-beat and visit-to-visit variability,
and the brachial-to-aortic difference the model does not represent, are not added.

Identifiability: at a known heart rate and stroke volume, the mean pressure fixes
``(R_p + R_c)·SV·HR/60`` (so ``R_p``) and the pulse pressure mostly ``SV / C`` (so ``C``);
``R_c`` shapes only the systolic upstroke and is not separable from ``C`` with cuff
readings, hence fixed. Pressures scale with the stroke volume, so calibrated ``R_p`` and
``C`` are relative to the assumed one (``R_p·SV`` and ``C/SV`` are what the readings
identify); forecasts of pressure at other heart rates are nearly unaffected by that choice.
"""

from __future__ import annotations

import numpy as np

from models.mechanistic._validation import FloatArray
from models.mechanistic.windkessel import CHARACTERISTIC_RESISTANCE, ejection_time_s
from models.mechanistic.windkessel_kernels import N_PARAMS, windkessel_batch, windkessel_beat

#: Identifies the prior in every calibration state (a replay checks it).
PRIOR_VERSION = "windkessel-3el/card-typical/lognormal-Rp0.25-C0.35/cuff-sd8/sv68.5"
#: The calibrated parameters, in order.
PARAMETER_NAMES: tuple[str, ...] = ("R_p", "C")
#: exp(E ln(1 + 0.08·band)) over the card's age bands (0.25, 0.40, 0.35).
CARD_AGE_FACTOR = float(np.exp(0.4 * np.log(1.08) + 0.35 * np.log(1.16)))
#: Typical R_p (mmHg·s/mL) and C (mL/mmHg): the card population's geometric means.
TYPICAL: FloatArray = np.array([0.95 * CARD_AGE_FACTOR, 1.8 / CARD_AGE_FACTOR])
#: SD of η (log scale) of R_p and C.
OMEGA: FloatArray = np.array([0.25, 0.35])
#: SD of a cuff reading's systolic and of its diastolic (mmHg), ISO 81060-2's bound.
CUFF_SD_MMHG = 8.0
#: Stroke volume (mL) when none is observed, and the reference heart rate (bpm).
TYPICAL_STROKE_VOLUME_ML = 68.5
REFERENCE_HEART_RATE_BPM = 72.0
#: The model's heart-rate range (the card's input bounds) and its steps per beat.
HEART_RATE_RANGE_BPM = (30.0, 200.0)
N_STEPS = 400
#: Fewer beats than this run one by one: the threaded batch kernel's start costs more.
SERIAL_BELOW = 256


def kernel_rows(eta: FloatArray, heart_rate: FloatArray, stroke_volume: FloatArray) -> FloatArray:
    """``(len(eta) * n, 6)`` kernel rows ``[R_c, R_p, C, T, T_s, SV]``: each η (rows of
    ``eta``, shape ``(k, 2)``) at each of the ``n`` heart rates and stroke volumes."""
    etas = np.atleast_2d(eta)
    hr = np.tile(heart_rate, etas.shape[0])
    theta = np.repeat(TYPICAL * np.exp(etas), heart_rate.size, axis=0)
    rows = np.empty((hr.size, N_PARAMS))
    rows[:, 0] = CHARACTERISTIC_RESISTANCE
    rows[:, 1:3] = theta
    rows[:, 3] = 60.0 / hr
    rows[:, 4] = ejection_time_s(hr)
    rows[:, 5] = np.tile(stroke_volume, etas.shape[0])
    return rows


def pressures(eta: FloatArray, heart_rate: FloatArray, stroke_volume: FloatArray) -> FloatArray:
    """``(k, n, 3)`` steady-beat ``[systolic, diastolic, map]`` (mmHg) of ``k`` η rows at
    ``n`` heart rates, in one batch-kernel call."""
    etas = np.atleast_2d(eta)
    rows = kernel_rows(etas, heart_rate, stroke_volume)
    if rows.shape[0] < SERIAL_BELOW:
        out = np.array([windkessel_beat(row, N_STEPS)[1] for row in rows]).reshape(-1, 3)
    else:
        out = windkessel_batch(rows, N_STEPS)
    result: FloatArray = out.reshape(etas.shape[0], heart_rate.size, 3)
    return result
