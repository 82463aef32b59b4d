"""A patient's stored observations -> the cuff readings the Windkessel calibration fits.

Each ``blood_pressure`` observation (systolic and diastolic, mmHg) is paired with the heart
rate in force at its time: the latest ``heart_rate`` observation at or before it, no older
than :data:`HEART_RATE_MAX_AGE` (vitals are charted together; an older one says nothing of
the beat the cuff measured). Times become hours since the first reading. A reading without
a heart rate in force is :class:`~governance.errors.InvalidInput` naming ``heart_rate``; a
heart rate outside the model's range (30-200 bpm) puts the patient outside the model
(:class:`~api.composition.twin_course.OutsideModel`: the twin withholds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.composition.twin_course import OutsideModel
from governance.errors import InvalidInput
from governance.twins.views import Record
from models.calibration.errors import WindkesselDataError
from models.calibration.windkessel import BloodPressures, Reading
from models.calibration.windkessel_prior import HEART_RATE_RANGE_BPM

USED_KINDS = frozenset({"blood_pressure", "heart_rate"})
HEART_RATE_MAX_AGE = timedelta(hours=1)

#: (time, value, observation id)
HeartRates = list[tuple[datetime, float, str]]


@dataclass(frozen=True)
class PatientPressures:
    data: BloodPressures
    origin: datetime
    heart_rates: HeartRates


def invalid(error: WindkesselDataError) -> InvalidInput:
    """The library's data error as the 422 naming its field."""
    return InvalidInput(f"{error.field}: {error.problem}: {error.detail}", field=error.field)


def heart_rates(observations: Sequence[Record]) -> HeartRates:
    rows = [
        (datetime.fromisoformat(o.body["time"]), float(o.body["value"]), o.id)
        for o in observations
        if o.kind == "heart_rate"
    ]
    return sorted(rows)


def in_force(
    rates: HeartRates, at: datetime, max_age: timedelta | None
) -> tuple[float, str] | None:
    """The latest heart rate at or before ``at`` (no older than ``max_age``), or None."""
    before = [r for r in rates if r[0] <= at and (max_age is None or at - r[0] <= max_age)]
    return (before[-1][1], before[-1][2]) if before else None


def _check_range(rate: float, at: datetime) -> None:
    low, high = HEART_RATE_RANGE_BPM
    if not low <= rate <= high:
        raise OutsideModel(
            f"a heart rate of {rate:g} bpm (at {at.isoformat()}) is outside the Windkessel "
            f"model's {low:g}-{high:g} bpm: it withholds",
            "heart_rate",
        )


def blood_pressures(observations: Sequence[Record]) -> PatientPressures:
    """The readings with their heart rates (:class:`InvalidInput` naming what is missing)."""
    cuffs = sorted(
        (datetime.fromisoformat(o.body["time"]), o.body["components"], o.id)
        for o in observations
        if o.kind == "blood_pressure"
    )
    if not cuffs:
        raise InvalidInput(
            "blood_pressure: missing: no blood_pressure observation (systolic and diastolic)",
            field="blood_pressure",
        )
    rates = heart_rates(observations)
    if not rates:
        raise InvalidInput("heart_rate: missing: no heart_rate observation", field="heart_rate")
    origin = cuffs[0][0]
    readings, used = [], []
    for at, parts, ident in cuffs:
        found = in_force(rates, at, HEART_RATE_MAX_AGE)
        if found is None:
            raise InvalidInput(
                f"heart_rate: missing: no heart_rate at or up to 1 h before blood pressure "
                f"{ident} at {at.isoformat()}",
                field="heart_rate",
            )
        _check_range(found[0], at)
        hours = (at - origin).total_seconds() / 3600.0
        readings.append(
            Reading(ident, hours, float(parts["systolic"]), float(parts["diastolic"]), found[0])
        )
        used += [ident, found[1]]
    data = BloodPressures(tuple(readings), tuple(sorted(set(used))))
    return PatientPressures(data, origin, rates)
