"""A seeded patient population simulated *from* the IWPC algorithm itself.

No IWPC patient data ships with twinreg, so the warfarin twin's evaluation set is drawn
from the published model: covariates from the distributions below, the observed weekly
dose ``(sqrt-dose predicted + e)**2`` with ``e ~ N(0, RESIDUAL_SD)`` on the square-root
scale. Such a set **checks the implementation only** (the coefficients, the coding of each
input, the squaring, the explanations and the governance around them); it says nothing
about how well the algorithm doses real patients, and it cannot reveal a real disparity
between groups, since every group is simulated from the same model.

The inputs' distributions are approximate and only shape the simulated population:

- race mix 40 % White, 25 % Asian, 20 % Black or African American, 15 % missing or
  mixed, chosen so that every group has well over the bias audit's minimum size (it is
  not the IWPC cohort's mix);
- VKORC1 -1639G>A (rs9923231) A-allele and CYP2C9 *2 / *3 allele frequencies per group
  of the order published for European, East Asian and African ancestry (the CPIC warfarin
  guideline tabulates them), genotypes in Hardy-Weinberg proportions, each genotype
  unknown for 5 % of patients; the missing-or-mixed group takes the average frequencies;
- age ~ N(62, 14) years within [18, 95]; height ~ N(170, 10) cm within [140, 205]; weight
  ~ N(80, 18) kg within [40, 160]; amiodarone 7 %, an enzyme inducer 2 %.

The residual SD puts the simulated mean absolute error near 9 mg/week, of the order
external evaluations report for the algorithm (about 7-12 mg/week, depending on the
group). The observed square-root dose is kept at 1 or above (1 mg/week).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from models.warfarin.iwpc import CODES, FEATURES, IwpcWarfarinModel

#: Residual standard deviation of the square-root weekly dose (sqrt(mg/week)).
RESIDUAL_SD = 1.0
#: Lowest observed square-root dose of the simulation (1 mg/week).
MIN_SQRT_DOSE = 1.0
UNKNOWN_GENOTYPE = 0.05
RACE_MIX = (0.40, 0.25, 0.20, 0.15)
#: Allele frequencies per race code: VKORC1 -1639A, CYP2C9*2, CYP2C9*3.
VKORC1_A: Mapping[int, float] = {0: 0.39, 1: 0.91, 2: 0.11, 3: 0.47}
CYP2C9_2: Mapping[int, float] = {0: 0.13, 1: 0.002, 2: 0.02, 3: 0.05}
CYP2C9_3: Mapping[int, float] = {0: 0.07, 1: 0.04, 2: 0.01, 3: 0.04}
#: CYP2C9 diplotype code of each pair of allele codes (0 = *1, 1 = *2, 2 = *3), sorted.
_DIPLOTYPE = {(0, 0): 0, (0, 1): 1, (0, 2): 2, (1, 1): 3, (1, 2): 4, (2, 2): 5}

IntArray = npt.NDArray[np.int64]


def simulate_covariates(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` patients' inputs in :data:`~models.warfarin.iwpc.FEATURES` order (float64)."""
    race = rng.choice(len(RACE_MIX), size=n, p=RACE_MIX)
    frame = pd.DataFrame(
        {
            "age": np.round(np.clip(rng.normal(62.0, 14.0, n), 18.0, 95.0)),
            "height": np.round(np.clip(rng.normal(170.0, 10.0, n), 140.0, 205.0), 1),
            "weight": np.round(np.clip(rng.normal(80.0, 18.0, n), 40.0, 160.0), 1),
            "vkorc1": _vkorc1(race, rng),
            "cyp2c9": _cyp2c9(race, rng),
            "race": race,
            "enzyme_inducer": rng.random(n) < 0.02,
            "amiodarone": rng.random(n) < 0.07,
        }
    )
    return frame.loc[:, list(FEATURES)].astype("float64")


def simulate_doses(
    model: IwpcWarfarinModel, covariates: pd.DataFrame, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """Observed weekly doses (mg/week): the model's square-root dose plus residual noise,
    squared."""
    root = model.sqrt_dose(covariates.loc[:, list(FEATURES)].to_numpy(dtype=np.float64))
    noisy = np.maximum(root + rng.normal(0.0, RESIDUAL_SD, root.shape[0]), MIN_SQRT_DOSE)
    doses: npt.NDArray[np.float64] = noisy**2
    return doses


def _vkorc1(race: IntArray, rng: np.random.Generator) -> IntArray:
    """Genotype code 0 G/G, 1 A/G, 2 A/A (count of A alleles), 3 unknown."""
    freq = np.array([VKORC1_A[int(r)] for r in race])
    code = (rng.random(race.shape[0]) < freq).astype(np.int64)
    code += rng.random(race.shape[0]) < freq
    return _unknown(code, len(CODES["vkorc1"]) - 1, rng)


def _cyp2c9(race: IntArray, rng: np.random.Generator) -> IntArray:
    """Diplotype code 0..5 (see :data:`~models.warfarin.iwpc.CODES`), 6 unknown."""
    star2 = np.array([CYP2C9_2[int(r)] for r in race])
    star3 = np.array([CYP2C9_3[int(r)] for r in race])

    def allele() -> IntArray:
        u = rng.random(race.shape[0])
        return np.where(u < star2, 1, np.where(u < star2 + star3, 2, 0)).astype(np.int64)

    first, second = allele(), allele()
    low, high = np.minimum(first, second), np.maximum(first, second)
    code = np.array([_DIPLOTYPE[(int(a), int(b))] for a, b in zip(low, high, strict=True)])
    return _unknown(code.astype(np.int64), len(CODES["cyp2c9"]) - 1, rng)


def _unknown(code: IntArray, unknown: int, rng: np.random.Generator) -> IntArray:
    result: IntArray = np.where(rng.random(code.shape[0]) < UNKNOWN_GENOTYPE, unknown, code)
    return result
