"""A trial arm's global explanation: mean |Shapley value| of each player over a sample.

Players: the twin's covariates (creatinine clearance, weight, which also sets a mg/kg
dose) and each individual deviation (eta_CL, eta_V1, eta_V2); dialysis stays the
patient's own. Interventional Shapley values against a background sample: a player
outside a coalition takes a background patient's value, and the game's value is averaged
over the background (what ``shap``'s exact explainer with an independent masker
computes). With five players every coalition is simulated (2^5 = 32, no sampling), and
the values come from :func:`models.dosing.explain.shapley_values`. For each explained
patient, ``base + sum(values)`` equals their output (``base`` the background's mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.dosing.explain import shapley_values
from models.mechanistic._validation import FloatArray
from models.trials._checks import whole
from models.trials.arms import DEFAULT_HORIZON_H, output_index, simulate_arm
from models.trials.cohort import BoolArray, VirtualCohort
from models.trials.regimen import Regimen

PLAYERS: tuple[str, ...] = ("creatinine_clearance", "weight_kg", "eta_CL", "eta_V1", "eta_V2")
MAX_SAMPLE = 2_000
MAX_BACKGROUND = 500


@dataclass(frozen=True)
class GlobalExplanation:
    output: str
    sample_size: int
    background_size: int
    seed: int
    base: float
    mean_abs: tuple[tuple[str, float], ...]  # (player, mean |SHAP|), players' order


def player_matrix(cohort: VirtualCohort) -> FloatArray:
    """``(n, 5)``: the players' values of each patient, columns :data:`PLAYERS`."""
    return np.column_stack([cohort.creatinine_clearance, cohort.weight_kg, cohort.eta])


def shapley_sample(
    regimen: Regimen,
    output: str,
    explained: FloatArray,
    background: FloatArray,
    dialysis: BoolArray,
    horizon_h: float = DEFAULT_HORIZON_H,
) -> tuple[FloatArray, FloatArray]:
    """Each explained row's base value (its game's value with no player) and its
    ``(len(explained), 5)`` Shapley values; rows are :func:`player_matrix` rows."""
    k = output_index(output)
    s, b, p = explained.shape[0], background.shape[0], len(PLAYERS)
    masks = np.arange(1 << p)
    chosen = ((masks[:, None] >> np.arange(p)) & 1).astype(bool)  # (32, 5)
    rows = np.where(
        chosen[:, None, None, :], explained[None, :, None, :], background[None, None, :, :]
    ).reshape(-1, p)
    flags = np.broadcast_to(dialysis[None, :, None], (masks.size, s, b)).reshape(-1)
    batch = VirtualCohort(
        weight_kg=np.ascontiguousarray(rows[:, 1]),
        creatinine_clearance=np.ascontiguousarray(rows[:, 0]),
        dialysis=np.ascontiguousarray(flags),
        eta=np.ascontiguousarray(rows[:, 2:]),
        source={},
    )
    values = simulate_arm(batch, regimen, horizon_h)[:, k].reshape(masks.size, s, b).mean(axis=2)
    phi = np.array([shapley_values(values[:, i], p) for i in range(s)])
    return np.ascontiguousarray(values[0]), phi


def explain_arm(
    cohort: VirtualCohort,
    regimen: Regimen,
    output: str,
    *,
    sample_size: int = 200,
    background_size: int = 50,
    seed: int = 0,
    horizon_h: float = DEFAULT_HORIZON_H,
) -> GlobalExplanation:
    """Mean |Shapley value| per player over ``sample_size`` patients drawn with ``seed``
    (against ``background_size`` others); both capped at the cohort's size."""
    output_index(output)
    whole("sample_size", sample_size, 1, MAX_SAMPLE)
    whole("background_size", background_size, 1, MAX_BACKGROUND)
    whole("seed", seed, 0, 2**63 - 1)
    rng = np.random.default_rng(seed)
    n = len(cohort)
    picked = rng.choice(n, size=min(sample_size, n), replace=False)
    back = rng.choice(n, size=min(background_size, n), replace=False)
    players = player_matrix(cohort)
    base, phi = shapley_sample(
        regimen, output, players[picked], players[back], cohort.dialysis[picked], horizon_h
    )
    mean_abs = np.abs(phi).mean(axis=0)
    return GlobalExplanation(
        output,
        picked.size,
        back.size,
        seed,
        float(base.mean()),
        tuple((name, float(v)) for name, v in zip(PLAYERS, mean_abs, strict=True)),
    )
