"""In-silico trials over virtual cohorts of the vancomycin twin (pure computation, numba).

- :mod:`~models.trials.regimen` — :class:`Regimen`: mg or mg/kg, interval, infusion, doses.
- :mod:`~models.trials.cohort` — :class:`CohortPrior`, :func:`draw`, :func:`from_patients`,
  :class:`VirtualCohort` (columnar covariates and etas, ``digest()``).
- :mod:`~models.trials.arms` — :func:`simulate_arm`: AUC24, trough, peak per patient.
- :mod:`~models.trials.plan` — :class:`TrialPlan` (arms, outputs, targets) and its chunks.
- :mod:`~models.trials.tally` — :func:`run_chunk`, mergeable :class:`ArmTally`,
  :func:`merge_results`.
- :mod:`~models.trials.summary` — :func:`summarise`: quantiles, attainment (Wilson),
  arm differences (Newcombe, medians).
- :mod:`~models.trials.explain` — :func:`explain_arm`: mean |Shapley value| per covariate.

Runners that place chunks on threads or on Ray live in :mod:`api.composition.trial_runner`.
"""

from models.trials.arms import OUTPUTS, simulate_arm
from models.trials.cohort import CohortPrior, VirtualCohort, draw, from_patients
from models.trials.errors import TrialInputError
from models.trials.explain import GlobalExplanation, explain_arm
from models.trials.plan import Arm, Chunk, Target, TrialPlan
from models.trials.regimen import Regimen
from models.trials.summary import TrialSummary, summarise
from models.trials.tally import ArmTally, ChunkResult, merge_results, run_chunk

__all__ = [
    "OUTPUTS",
    "Arm",
    "ArmTally",
    "Chunk",
    "ChunkResult",
    "CohortPrior",
    "GlobalExplanation",
    "Regimen",
    "Target",
    "TrialInputError",
    "TrialPlan",
    "TrialSummary",
    "VirtualCohort",
    "draw",
    "explain_arm",
    "from_patients",
    "merge_results",
    "run_chunk",
    "simulate_arm",
    "summarise",
]
