"""A patient's stored observations -> the vancomycin course :mod:`models.dosing` fits.

Times become hours since the first dose's start. Covariates are timed: the value in
force at a time is the latest at or before it. Creatinine clearance at each creatinine
measurement is Cockcroft-Gault (:func:`models.dosing.prior.cockcroft_gault`, Goti 2018's
rules) with the age, weight and sex in force then. Outside what the model was fitted on —
continuous renal replacement, peritoneal dialysis, ECMO, age under 18, pregnancy — the
twin withholds (:class:`OutsideModel`, saying why); intermittent haemodialysis is the
model's own covariate. A missing covariate is :class:`~governance.errors.InvalidInput`
naming it (``covariates.sex``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governance.errors import InvalidInput
from governance.twins.views import Record
from models.dosing.history import Course, Infusion, Level, TimedValue
from models.dosing.prior import cockcroft_gault

#: Dialysis statuses and other states the vancomycin model was not fitted on.
UNSUPPORTED = {
    ("dialysis_status", "continuous_renal_replacement"): "continuous renal replacement therapy",
    ("dialysis_status", "peritoneal_dialysis"): "peritoneal dialysis",
    ("ecmo", "on"): "extracorporeal membrane oxygenation (ECMO)",
    ("pregnancy", "pregnant"): "pregnancy",
}
USED_KINDS = frozenset(
    {"vancomycin_dose", "vancomycin_level", "serum_creatinine", "weight", "age", "sex"}
    | {"dialysis_status", "ecmo", "pregnancy"}
)


class OutsideModel(Exception):
    """The patient is outside what the model was fitted on: the twin withholds. ``field``
    names the observation kind that put them outside (``dialysis_status``, ``age``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PatientCourse:
    course: Course
    origin: datetime
    observation_ids: tuple[str, ...]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _hours(at: datetime, origin: datetime) -> float:
    return (at - origin).total_seconds() / 3600.0


def _in_force(rows: Sequence[tuple[datetime, Any, str]], at: datetime, name: str) -> Any:
    before = [r for r in rows if r[0] <= at]
    if not before:
        raise InvalidInput(
            f"covariates.{name}: missing: no {name} observation at or before {at.isoformat()}",
            field=f"covariates.{name}",
        )
    return max(before, key=lambda r: r[0])[1]


def build_course(observations: Sequence[Record]) -> PatientCourse:
    """The course from the patient's observations (:class:`OutsideModel`,
    :class:`InvalidInput` for a missing covariate or dose)."""
    by_kind: dict[str, list[tuple[datetime, Any, str]]] = {}
    for obs in observations:
        if obs.kind in USED_KINDS:
            body = obs.body
            value = body["components"] or body["value"]
            by_kind.setdefault(obs.kind, []).append((_time(body["time"]), value, obs.id))
    for (kind, value), why in UNSUPPORTED.items():
        latest = max(by_kind.get(kind, []), key=lambda r: r[0], default=None)
        if latest is not None and latest[1] == value:
            raise OutsideModel(f"the vancomycin model was not fitted on {why}: it withholds", kind)
    doses = by_kind.get("vancomycin_dose", [])
    if not doses:
        raise InvalidInput(
            "observations: missing: no vancomycin_dose observation", field="vancomycin_dose"
        )
    origin = min(_time(d[1]["start"]) for d in doses)
    ages = by_kind.get("age", [])
    if ages and max(ages, key=lambda r: r[0])[1] < 18.0:
        raise OutsideModel(
            "the vancomycin model was fitted on adults: it withholds under 18", "age"
        )
    infusions = tuple(
        Infusion(d[1]["amount"], _hours(_time(d[1]["start"]), origin), d[1]["duration"], d[2])
        for d in sorted(doses, key=lambda r: r[1]["start"])
    )
    levels = tuple(
        Level(_hours(at, origin), value, ident)
        for at, value, ident in sorted(by_kind.get("vancomycin_level", []))
    )
    weights = by_kind.get("weight", [])
    creatinine = by_kind.get("serum_creatinine", [])
    for name in ("serum_creatinine", "weight", "age", "sex"):
        if not by_kind.get(name):
            raise InvalidInput(
                f"covariates.{name}: missing: no {name} observation", field=f"covariates.{name}"
            )
    crcl = tuple(
        TimedValue(
            _hours(at, origin),
            cockcroft_gault(
                scr,
                _in_force(ages, at, "age"),
                _in_force(weights, at, "weight"),
                _in_force(by_kind["sex"], at, "sex") == "female",
            ),
            ident,
        )
        for at, scr, ident in sorted(creatinine)
    )
    weight = tuple(TimedValue(_hours(at, origin), w, ident) for at, w, ident in sorted(weights))
    dialysis = by_kind.get("dialysis_status", [])
    on_hd = bool(dialysis) and max(dialysis)[1] == "intermittent_haemodialysis"
    used = tuple(sorted(r[2] for rows in by_kind.values() for r in rows))
    return PatientCourse(Course(infusions, levels, crcl, weight, on_hd), origin, used)
