"""The vancomycin prior: Goti 2018's population model with its variability.

Source: Goti V, Chaturvedula A, Fossler MJ, Mok S, Jacob JT. Hospitalized patients with and
without hemodialysis have markedly different vancomycin pharmacokinetics: a population
pharmacokinetic model-based analysis. Ther Drug Monit 2018;40(2):212-221, Table 2 (final
model), as transcribed by the nlmixr2 model library (``Goti_2018_vancomycin``).

- Typical values and covariates: exactly those of the existing twin,
  :meth:`models.mechanistic.pk.VancomycinTwin.kinetic_parameters` (CL 4.5 L/h at CrCL 120
  mL/min with exponent 0.8, V1 58.4 L per 70 kg, Q 6.5 L/h, V2 38.4 L; haemodialysis 0.7 on
  CL and 0.5 on V1), called here rather than copied.
- Creatinine clearance: Cockcroft-Gault in mL/min with the source's preprocessing rules
  (Goti 2018 Methods): serum creatinine below 1 mg/dL is set to 1 when the age is above 60
  years; values above 150 mL/min are truncated to 150 (the model was fitted on nothing
  higher).
- Inter-individual variability: log-normal on CL, V1 and V2 with CV 39.8 %, 81.6 %, 57.1 %,
  ``omega^2 = ln(1 + CV^2)``; none on Q.
- Residual error: additive 3.4 mg/L and proportional 22.7 %, variances added:
  ``sd^2 = 3.4^2 + (0.227 C)^2``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from models.dosing.errors import DosingDataError
from models.mechanistic._validation import FloatArray
from models.mechanistic.errors import MechanisticInputError
from models.mechanistic.pk import VancomycinTwin

#: Identifies the prior in every calibration state (a replay checks it).
PRIOR_VERSION = "goti2018-vancomycin/iiv-cl39.8-v1-81.6-v2-57.1/res-3.4+22.7%"
#: Cockcroft-Gault values above this are used as this (Goti 2018 Methods).
CRCL_CAP_ML_MIN = 150.0
#: Names of the individual deviations (log scale), in order.
ETA_NAMES: tuple[str, ...] = ("CL", "V1", "V2")
#: Coefficients of variation of the log-normal inter-individual variability (Goti 2018).
IIV_CV: tuple[float, ...] = (0.398, 0.816, 0.571)
#: ``omega^2 = ln(1 + CV^2)`` for each eta.
OMEGA2: FloatArray = np.log1p(np.square(np.array(IIV_CV)))
#: Prior standard deviations of the etas (log scale).
OMEGA: FloatArray = np.sqrt(OMEGA2)
#: Residual error, additive (mg/L) and proportional (fraction), variances added.
SIGMA_ADD_MG_L = 3.4
SIGMA_PROP = 0.227
#: The reference patient of explanations (the twin's reference: CrCL 120, 70 kg, eta 0).
REFERENCE_CRCL_ML_MIN = 120.0
REFERENCE_WEIGHT_KG = 70.0


def residual_variance(concentration: FloatArray) -> FloatArray:
    """``3.4^2 + (0.227 C)^2`` (mg/L)^2 for each predicted concentration."""
    result: FloatArray = SIGMA_ADD_MG_L**2 + (SIGMA_PROP * concentration) ** 2
    return result


def cockcroft_gault(
    creatinine_mg_dl: float, age_years: float, weight_kg: float, female: bool
) -> float:
    """Creatinine clearance (mL/min) with Goti 2018's rules, capped at 150.

    ``(140 - age) * weight / (72 * SCr)``, times 0.85 for a woman (Cockcroft DW, Gault MH.
    Nephron 1976;16:31-41); SCr below 1 mg/dL is set to 1 above 60 years of age.
    """
    for name, value, low, high in (
        ("creatinine", creatinine_mg_dl, 0.1, 20.0),
        ("age", age_years, 18.0, 120.0),
        ("weight", weight_kg, 30.0, 250.0),
    ):
        if not (math.isfinite(value) and low <= value <= high):
            raise DosingDataError(name, "invalid", f"must be in [{low:g}, {high:g}], got {value!r}")
    crcl = cockcroft_gault_array(
        np.array([creatinine_mg_dl]),
        np.array([age_years]),
        np.array([weight_kg]),
        np.array([female]),
    )
    return float(crcl[0])


def cockcroft_gault_array(
    creatinine_mg_dl: FloatArray,
    age_years: FloatArray,
    weight_kg: FloatArray,
    female: npt.NDArray[np.bool_],
) -> FloatArray:
    """:func:`cockcroft_gault` for arrays of checked values (no range check here)."""
    scr = np.where(age_years > 60.0, np.maximum(creatinine_mg_dl, 1.0), creatinine_mg_dl)
    crcl = (140.0 - age_years) * weight_kg / (72.0 * scr) * np.where(female, 0.85, 1.0)
    result: FloatArray = np.minimum(crcl, CRCL_CAP_ML_MIN)
    return result


def typical_parameters(crcl: FloatArray, weight: FloatArray, dialysis: bool) -> FloatArray:
    """Rows ``[CL, V1, Q, V2]`` of the typical patient for each (CrCL, weight) pair.

    CrCL is capped at 150 mL/min before it enters the covariate model.
    """
    n = crcl.size
    covariates = np.column_stack(
        [np.minimum(crcl, CRCL_CAP_ML_MIN), weight, np.zeros(n), np.full(n, 12.0)]
    )
    twin = VancomycinTwin(dialysis=dialysis).fit()
    try:
        params = twin.kinetic_parameters(covariates)
    except MechanisticInputError as exc:
        raise DosingDataError(exc.field, "invalid", f"must be {exc.allowed}") from exc
    return np.ascontiguousarray(params[:, :4])
