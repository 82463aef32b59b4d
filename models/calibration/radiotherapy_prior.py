"""The radiotherapy prior: the card's typical tumour, log-normal individual deviations.

The twin is :class:`models.mechanistic.radiotherapy.RadiotherapyTwin`'s model: logistic
growth to a carrying capacity of 2,000 cm³ with instantaneous linear-quadratic kill per
fraction, ``alpha/beta`` fixed at the card's 10 Gy (``beta = alpha / 10``). Three
individual parameters are calibrated, each log-normal, ``ln θ = ln TYPICAL + η``,
``η ~ N(0, OMEGA²)``:

- ``initial_volume`` (cm³, the volume at the course's first observation): typical 30 cm³,
  ``OMEGA`` 0.8 — the card's virtual population (``models/mechanistic_demo.py``), a choice of
  the card, not a published figure. It is estimated, not fixed at the first measured volume,
  because that measurement carries the same imaging error as the others.
- ``growth_rate`` (1/day): typical ``ln 2 / 70`` (the card's 70-day volume doubling
  time); ``OMEGA`` 0.764, derived from Lenhard RE et al. Growth kinetics of small cell
  carcinoma of the lung. Eur J Cancer 1981;17(8):899-904: tumour doubling times of 20
  patients with an arithmetic mean of 79 and a log mean of 59 days; for a log-normal,
  ``mean / geometric mean = exp(ω²/2)``, so ``ω = sqrt(2 ln(79/59))`` (the growth rate,
  ``ln 2 / doubling time``, has the same ω). Wider than the card's virtual population (0.35).
- ``alpha`` (1/Gy): typical 0.05 (the card's); CV 23 % from the population spread of
  radiosensitivity used in tumour control modelling, ``alpha`` 0.30 Gy⁻¹ with
  ``sigma_alpha`` 0.069 Gy⁻¹ (J Nucl Med Radiat Ther 2014;5:171, figure 1); log-normal as
  Keall PJ, Webb S. Optimum parameters in a model for tumour control probability including
  interpatient heterogeneity: evaluation of the log-normal distribution. Phys Med Biol
  2007;52(1):291-302 argue; ``ω² = ln(1 + CV²)``.

Residual error: proportional, additive on the log scale, SD :data:`SIGMA_LOG` 0.15 — our
choice, between the 0.10 implied by repeat-CT semi-automated volumetry (interscan 95 %
limits of agreement of about ±25-29 % for 202 lung nodules, ``0.27 / (1.96 √2)``;
PMC3043750) and the CV of up to 20 % of manual CT delineation of larger tumours
(nasopharyngeal carcinoma, inter-observer), and equal to the card's reference noise.
"""

from __future__ import annotations

import math

import numpy as np

from models.mechanistic._validation import FloatArray

#: Identifies the prior in every calibration state (a replay checks it).
PRIOR_VERSION = (
    "radiotherapy-card/lognormal-V0-30cm3-0.8/r-ln2over70d-0.764-lenhard1981/"
    "alpha-0.05-cv23%-jnmrt2014/ab-10Gy-K2000cm3-logistic/res-log-0.15"
)
#: The calibrated parameters, in order (their η in this order).
ETA_NAMES: tuple[str, ...] = ("initial_volume", "growth_rate", "alpha")
#: The typical patient (the card's): 30 cm³, ``ln 2 / 70`` per day, 0.05 per Gy.
TYPICAL: FloatArray = np.array([30.0, math.log(2.0) / 70.0, 0.05])
LOG_TYPICAL: FloatArray = np.log(TYPICAL)
#: Doubling times in Lenhard 1981: arithmetic and log means (days).
DOUBLING_TIME_MEAN_DAYS = 79.0
DOUBLING_TIME_LOG_MEAN_DAYS = 59.0
#: Radiosensitivity's population mean and SD (1/Gy) of J Nucl Med Radiat Ther 2014;5:171.
ALPHA_MEAN = 0.30
ALPHA_SD = 0.069
#: Prior SDs of the η (log scale).
OMEGA: FloatArray = np.array(
    [
        0.8,
        math.sqrt(2.0 * math.log(DOUBLING_TIME_MEAN_DAYS / DOUBLING_TIME_LOG_MEAN_DAYS)),
        math.sqrt(math.log1p((ALPHA_SD / ALPHA_MEAN) ** 2)),
    ]
)
#: ``alpha / beta`` (Gy), fixed; the carrying capacity (cm³), fixed (the twin's).
ALPHA_BETA_GY = 10.0
CARRYING_CAPACITY_CM3 = 2000.0
#: Residual error: SD of ``ln(measured) - ln(true)``.
SIGMA_LOG = 0.15


def individual_parameters(etas: FloatArray) -> tuple[FloatArray, FloatArray]:
    """For rows of η: the kernel's ``[r, K, alpha, beta]`` rows and the initial volumes."""
    values = np.exp(LOG_TYPICAL + np.atleast_2d(etas))
    params = np.empty((values.shape[0], 4))
    params[:, 0] = values[:, 1]
    params[:, 1] = CARRYING_CAPACITY_CM3
    params[:, 2] = values[:, 2]
    params[:, 3] = values[:, 2] / ALPHA_BETA_GY
    return params, np.ascontiguousarray(values[:, 0])


def named_parameters(eta: FloatArray) -> tuple[tuple[str, float], ...]:
    """The individual parameters of ``eta`` by name (what a state reports)."""
    v0, r, alpha = (float(v) for v in np.exp(LOG_TYPICAL + eta))
    return (
        ("initial_volume", v0),
        ("growth_rate", r),
        ("alpha", alpha),
        ("beta", alpha / ALPHA_BETA_GY),
        ("doubling_time", math.log(2.0) / r),
    )
