"""The vancomycin twin's adapter (:mod:`api.composition.twin_kinds`): its course from the
patient's observations (:mod:`api.composition.twin_course`), the Bayesian calibration of
:mod:`models.dosing`, its forecasts and recommendations (:mod:`api.composition.twin_outputs`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from api.composition.twin_course import USED_KINDS, build_course
from api.composition.twin_kinds import Compute, register
from api.composition.twin_outputs import CourseCompute, forecast_request, recommendation_request
from governance.twins.views import Record
from models.dosing.calibration import Calibration, Posterior, calibrate

KIND = "pk_vancomycin"


def calibration_body(result: Calibration, used: tuple[str, ...]) -> dict[str, Any]:
    """A state's content: everything needed to check it and replay it."""
    posterior = dataclasses.asdict(result.posterior) if result.posterior else None
    body = {
        "status": result.status,
        "message": result.message,
        "prior_version": result.prior_version,
        "objective": result.objective,
        "iterations": result.iterations,
        "observation_ids": list(used),
        "posterior": posterior,
    }
    plain: dict[str, Any] = json.loads(json.dumps(body))  # as stored: lists, exact floats
    return plain


def calibration_of(body: Mapping[str, Any]) -> Calibration:
    """A stored state as the dosing library's calibration (for forecasts)."""
    p = body["posterior"]
    posterior = None
    if p is not None:
        posterior = Posterior(
            tuple(p["eta"]),
            tuple(tuple(r) for r in p["covariance"]),
            tuple(p["sd"]),
            tuple(p["shrinkage"]),
            tuple((str(n), float(v)) for n, v in p["parameters"]),
        )
    return Calibration(
        body["status"],
        body["message"],
        body["prior_version"],
        tuple(body["observation_ids"]),
        body["objective"],
        body["iterations"],
        posterior,
    )


def _on_course(compute: CourseCompute) -> Compute:
    def run(observations: Sequence[Record], state: Mapping[str, Any]) -> dict[str, Any]:
        return compute(build_course(observations), calibration_of(state))

    return run


class VancomycinTwin:
    kind = KIND
    used_kinds = USED_KINDS

    def calibrate(self, observations: Sequence[Record]) -> dict[str, Any]:
        course = build_course(observations)
        return calibration_body(calibrate(course.course), course.observation_ids)

    def forecast(self, body: Mapping[str, Any]) -> Compute:
        return _on_course(forecast_request(body))

    def recommendation(self, body: Mapping[str, Any], time_zone: ZoneInfo) -> Compute | None:
        return _on_course(recommendation_request(body, time_zone))


register(VancomycinTwin())
