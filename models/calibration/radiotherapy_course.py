"""A radiotherapy course as the calibration reads it, its checks, and its simulation.

Times are days since the course's origin (its first observation, time 0 of the kernel);
the initial volume is the volume then. Fractions are delivered doses (Gy) at their times;
volumes are measured gross tumour volumes (cm³). A volume measured at the very instant of
a fraction is taken after it (the kernel's samples are right-continuous).

What can be calibrated (:func:`check_course`): at least one fraction (radiosensitivity is
learnt only from the response to dose) and at least two volumes, one of them after the
first fraction (the initial volume and the response: without a volume after a fraction
the data say nothing of the tumour's biology). With volumes during the course only, the
data inform mainly the net weekly change ``5·(2 alpha + 4 beta) - 7 r`` of a 2-Gy weekday
schedule: growth rate and radiosensitivity are told apart by the prior, by volumes before
the first fraction or after the last (regrowth), and the posterior correlation says how
much.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np

from models.calibration.errors import RadiotherapyDataError
from models.calibration.radiotherapy_prior import CARRYING_CAPACITY_CM3, individual_parameters
from models.mechanistic._validation import FloatArray
from models.mechanistic.radiotherapy import (
    MAX_DOSE_PER_FRACTION_GY,
    MAX_FRACTIONS,
    MAX_HORIZON_DAYS,
)
from models.mechanistic.radiotherapy_kernels import LOGISTIC, tumour_integrate_batch

#: RK4 step (days): growth rates stay below 0.1/day, so ``r·h`` < 0.025 (errors ~1e-10).
DT_MAX_DAYS = 0.25
#: The smallest volume the proportional error model can fit (the card's lower bound).
MIN_VOLUME_CM3 = 0.01


@dataclass(frozen=True)
class Fraction:
    time_d: float
    dose_gy: float
    id: str


@dataclass(frozen=True)
class Volume:
    time_d: float
    volume_cm3: float
    id: str


@dataclass(frozen=True)
class RadiotherapyCourse:
    """Delivered fractions and measured volumes, each sorted by time."""

    fractions: tuple[Fraction, ...]
    volumes: tuple[Volume, ...]

    def observation_ids(self) -> tuple[str, ...]:
        return tuple(sorted([f.id for f in self.fractions] + [v.id for v in self.volumes]))

    def without_volume(self, index: int) -> RadiotherapyCourse:
        return replace(self, volumes=self.volumes[:index] + self.volumes[index + 1 :])


def _bad(field: str, problem: str, detail: str) -> RadiotherapyDataError:
    return RadiotherapyDataError(field, problem, detail)


def check_fractions(fractions: tuple[Fraction, ...], field: str) -> None:
    """Finite, in range, ordered, and no two at one instant."""
    for f in fractions:
        if not (math.isfinite(f.time_d) and 0.0 <= f.time_d <= MAX_HORIZON_DAYS):
            raise _bad(field, "invalid", f"{f.id}: a time within {MAX_HORIZON_DAYS:g} days")
        if not (math.isfinite(f.dose_gy) and 0.0 <= f.dose_gy <= MAX_DOSE_PER_FRACTION_GY):
            raise _bad(field, "invalid", f"{f.id}: a dose in [0, {MAX_DOSE_PER_FRACTION_GY:g}] Gy")
    if len(fractions) > MAX_FRACTIONS:
        raise _bad(field, "invalid", f"at most {MAX_FRACTIONS} fractions, got {len(fractions)}")
    times = [f.time_d for f in fractions]
    if times != sorted(times):
        raise _bad(field, "invalid", "fractions must be sorted by time")
    for a, b in itertools.pairwise(fractions):
        if a.time_d == b.time_d:
            raise _bad(
                field, "contradictory", f"{a.id} and {b.id} are two fractions at one instant"
            )


def check_course(course: RadiotherapyCourse) -> None:
    """Raise :class:`RadiotherapyDataError` naming what is missing or wrong."""
    if not course.fractions:
        raise _bad(
            "radiotherapy_fraction", "missing",
            "no radiotherapy_fraction: radiosensitivity is learnt from the response to dose",
        )  # fmt: skip
    check_fractions(course.fractions, "radiotherapy_fraction")
    if len(course.volumes) < 2:
        raise _bad(
            "tumour_volume", "missing",
            f"at least two tumour_volume observations are needed, {len(course.volumes)} given",
        )  # fmt: skip
    for v in course.volumes:
        if not (math.isfinite(v.volume_cm3) and math.isfinite(v.time_d)):
            raise _bad("tumour_volume", "invalid", f"{v.id}: a finite volume and time")
        if not MIN_VOLUME_CM3 <= v.volume_cm3 < CARRYING_CAPACITY_CM3:
            raise _bad(
                "tumour_volume", "invalid",
                f"{v.id}: the model fits volumes in [{MIN_VOLUME_CM3:g}, "
                f"{CARRYING_CAPACITY_CM3:g}) cm3 (proportional error, logistic growth)",
            )  # fmt: skip
        if not 0.0 <= v.time_d <= MAX_HORIZON_DAYS:
            raise _bad("tumour_volume", "invalid", f"{v.id}: within {MAX_HORIZON_DAYS:g} days")
    if not any(v.time_d > course.fractions[0].time_d for v in course.volumes):
        raise _bad(
            "tumour_volume", "missing",
            "no tumour_volume after the first fraction: the response to dose is unobserved",
        )  # fmt: skip


def simulate(etas: FloatArray, fractions: tuple[Fraction, ...], times: FloatArray) -> FloatArray:
    """Volumes ``(len(etas), len(times))`` of each row of η under ``fractions``, at the
    sorted ``times`` (days), in one batch-kernel call (numba threads over the rows)."""
    params, v0 = individual_parameters(etas)
    n = params.shape[0]
    width = max(len(fractions), 1)
    fx_times = np.zeros((n, width))
    fx_doses = np.zeros((n, width))
    if fractions:
        fx_times[:] = [f.time_d for f in fractions]
        fx_doses[:] = [f.dose_gy for f in fractions]
    counts = np.full(n, len(fractions), dtype=np.int64)
    volumes, _ = tumour_integrate_batch(
        params, LOGISTIC, v0, fx_times, fx_doses, counts,
        np.ascontiguousarray(times, dtype=np.float64), DT_MAX_DAYS,
    )  # fmt: skip
    result: FloatArray = volumes
    return result
