"""The glucose prior: three named UVA/Padova parameters, log-normal over simglucose's cohort.

The calibrated parameters are ``Vmx`` (insulin action on glucose utilisation,
mg/kg/min per pmol/L), ``kp3`` (insulin action on liver glucose production, mg/kg/min per
pmol/L) and ``kabs`` (intestinal absorption rate, 1/min). Each is log-normal:
``ln θ = LOG_MEDIAN + η``, ``η ~ N(0, OMEGA²)``. The constants were computed once from
simglucose 0.2.11's ``params/vpatient_params.csv`` (the 30 virtual patients, also shipped
here as ``models/mechanistic/data/vpatient_params.csv``): ``LOG_MEDIAN`` is the mean of
``ln θ`` over the 30 patients, ``OMEGA`` its sample standard deviation (``ddof=1``);
``tests/models/calibration/test_glucose_prior.py`` computes them again from simglucose's
own file.

Every other parameter of the person is the cohort's median (per parameter, over the 30
patients), except the body weight (the person's) and ``Ib`` (the plasma insulin at the
person's basal rate in steady state, so that insulin action is zero at basal, as in every
cohort patient).

CGM error, autocorrelated, is modelled (not widened): an Ornstein-Uhlenbeck process of SD
:data:`CGM_SD_MG_DL` and time constant :data:`CGM_TAU_MIN`, so consecutive residuals
``e_i`` whiten to ``(e_i - rho e_{i-1}) / (sd √(1 - rho²))`` with ``rho = exp(-Δt / τ)``. Both
were measured on simglucose's own CGM noise (``CGMNoise`` with the GuardianRT sensor, 5-min
samples, 200,000 samples for each of seeds 1-3): SD 11.6-11.7 mg/dL, autocorrelation 0.72
at 15 min, 0.47 at 30 min and 0.24 at 60 min (an exponential with τ ≈ 42 min; the cubic
interpolation of its 15-min noise makes it smoother at 5 min, 0.955, than the exponential's
0.888).

Finger-stick (capillary, self-monitoring) glucose reads the plasma compartment with its own
error, independent between readings (each is its own strip): ISO 15197:2013's accuracy
criterion (95 % of readings within ±15 mg/dL below 100 mg/dL and within ±15 % at or above)
taken as a normal error with 1.96 SD at that limit, :func:`fingerstick_sd` (7.65 mg/dL below
100 mg/dL, 7.65 % above), at the reading's own value (so the objective stays a sum of
squares with fixed weights).
"""

from __future__ import annotations

import functools

import numpy as np

from models.mechanistic._validation import FloatArray
from models.mechanistic.glucose import virtual_cohort
from models.mechanistic.glucose_kernels import BW, IB, KABS, KP3, VMX

#: Identifies the prior in every calibration state (a replay checks it).
PRIOR_VERSION = (
    "simglucose-0.2.11-cohort/lognormal-Vmx-kp3-kabs/cgm-ou-11.6-42min/smbg-iso15197-2013"
)
#: The calibrated parameters, in order, and where they sit in the parameter vector.
PARAMETER_NAMES: tuple[str, ...] = ("Vmx", "kp3", "kabs")
PARAMETER_INDEX: tuple[int, ...] = (VMX, KP3, KABS)
#: Mean of ln θ over the 30 simglucose patients (medians 0.0613, 0.00990, 0.136).
LOG_MEDIAN: FloatArray = np.array([-2.7924242009014693, -4.61528372441361, -1.9987185081802707])
#: Sample SD (ddof=1) of ln θ over the 30 simglucose patients.
OMEGA: FloatArray = np.array([0.5078884802697118, 0.5081544392341366, 1.0184244178597919])
#: CGM error: SD (mg/dL) and autocorrelation time (min) of simglucose's CGM noise.
CGM_SD_MG_DL = 11.6
CGM_TAU_MIN = 42.0
#: Finger-stick error: ISO 15197:2013's ±15 mg/dL (below 100 mg/dL) or ±15 % as 1.96 SD.
SMBG_LIMIT_MG_DL = 15.0
SMBG_LIMIT_FROM_MG_DL = 100.0
SMBG_Z = 1.96


def fingerstick_sd(reading_mg_dl: FloatArray) -> FloatArray:
    """SD (mg/dL) of a finger-stick reading's error at the reading's value."""
    scale = np.maximum(1.0, np.asarray(reading_mg_dl, dtype=np.float64) / SMBG_LIMIT_FROM_MG_DL)
    sd: FloatArray = SMBG_LIMIT_MG_DL / SMBG_Z * scale
    return sd


@functools.cache
def _median_physiology() -> FloatArray:
    params: FloatArray = np.median(virtual_cohort().params, axis=0)
    return params


def person_parameters(eta: FloatArray, weight_kg: float, ib: float) -> FloatArray:
    """The full parameter vector of a person: the cohort median, the person's weight and
    ``Ib``, and the three calibrated parameters at ``exp(LOG_MEDIAN + eta)``."""
    params = _median_physiology().copy()
    params[BW] = weight_kg
    params[IB] = ib
    params[list(PARAMETER_INDEX)] = np.exp(LOG_MEDIAN + eta)
    return params
