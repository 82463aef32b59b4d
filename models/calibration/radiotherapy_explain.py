"""Explanations of a radiotherapy forecast: exact Shapley values, and the volumes that moved
the estimate.

Players: the patient's individual deviations of growth rate and radiosensitivity
(``eta_growth_rate``, ``eta_alpha``); a player outside a coalition takes the typical
patient's value (η = 0: the card's 70-day doubling time, alpha 0.05/Gy). The initial
volume stays the patient's own (its MAP) in every coalition: the explanation is of the
tumour's biology, not of its size. Both players' 2² = 4 coalitions are simulated exactly, so
``base + sum(values) == forecast`` to rounding. The value explained is the point forecast
at the mode of the volume at the horizon (cm³).

Influence: the change of the MAP growth rate and alpha when each volume is left out and the
rest refitted (leave-one-out, warm-started at the full fit's mode: the same minimum in
fewer steps), sorted by the larger relative change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.calibration.radiotherapy import map_estimate
from models.calibration.radiotherapy_course import Fraction, RadiotherapyCourse, simulate
from models.calibration.radiotherapy_forecast import with_plan
from models.calibration.radiotherapy_prior import LOG_TYPICAL
from models.dosing.calibration import Calibration
from models.dosing.explain import Explanation, shapley_values

PLAYERS: tuple[str, ...] = ("eta_growth_rate", "eta_alpha")


@dataclass(frozen=True)
class VolumeInfluence:
    """A volume's leave-one-out effect on the MAP growth rate (1/day) and alpha (1/Gy):
    the estimate with it minus the estimate without it; None (and why) if the refit failed."""

    volume_id: str
    time_d: float
    growth_rate_change: float | None
    alpha_change: float | None
    note: str


def explain_forecast(
    course: RadiotherapyCourse,
    calibration: Calibration,
    plan: tuple[Fraction, ...],
    horizon_d: float,
) -> Explanation:
    """Shapley values of the volume at ``horizon_d`` (days since the origin)."""
    eta = calibration.usable().eta_array()
    etas = np.array([[eta[0], eta[1] * (m & 1), eta[2] * (m >> 1 & 1)] for m in range(4)])
    values = simulate(etas, with_plan(course, plan), np.array([horizon_d]))[:, 0]
    phi = shapley_values(values, len(PLAYERS))
    return Explanation(
        "volume_at_horizon",
        float(values[0]),
        float(values[3]),
        tuple(zip(PLAYERS, map(float, phi), strict=True)),
    )


def volume_influence(
    course: RadiotherapyCourse, calibration: Calibration
) -> tuple[VolumeInfluence, ...]:
    """Volumes by decreasing larger relative change of MAP growth rate or alpha."""
    eta = calibration.usable().eta_array()
    r_all, a_all = np.exp(LOG_TYPICAL[1:] + eta[1:])
    result = []
    for index, volume in enumerate(course.volumes):
        refit, _, _, problem = map_estimate(course.without_volume(index), start=eta)
        if problem:
            result.append(VolumeInfluence(volume.id, volume.time_d, None, None, problem))
            continue
        r, a = np.exp(LOG_TYPICAL[1:] + refit[1:])
        result.append(
            VolumeInfluence(
                volume.id, volume.time_d, float(r_all - r), float(a_all - a), "refitted without it"
            )
        )

    def weight(i: VolumeInfluence) -> tuple[bool, float, float]:
        if i.growth_rate_change is None or i.alpha_change is None:
            return (True, 0.0, i.time_d)
        relative = max(abs(i.growth_rate_change) / r_all, abs(i.alpha_change) / a_all)
        return (False, -float(relative), i.time_d)

    return tuple(sorted(result, key=weight))
