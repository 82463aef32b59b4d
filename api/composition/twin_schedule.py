"""When to give a recommended regimen: the top regimen's doses on absolute time, shown in
the site's time zone (``TWINREG_SITE_TIME_ZONE``, IANA; default UTC).

The first dose is the request's ``start`` (RFC 3339 with a zone) or, without one, when the
current regimen's next dose is due: the last recorded dose's start plus the interval
between the last two recorded doses (a single recorded dose: ``start`` is required). Each
later dose is the first plus a whole number of intervals in elapsed time, so a q12h
schedule stays 12 h apart across a daylight-saving change (the wall clock moves, the
interval does not). With a loading dose it is given first and the maintenance doses
start one interval later.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from api.composition.twin_course import PatientCourse
from governance.errors import InvalidInput
from models.dosing.recommend import Recommendation

#: How far ahead the schedule lists doses.
SCHEDULE_HOURS = 48.0


def next_due(course: PatientCourse) -> datetime:
    """When the current regimen's next dose is due (the last start plus the last interval)."""
    starts = sorted(d.start_h for d in course.course.infusions)
    if len(starts) < 2:
        raise InvalidInput(
            "start: missing: one dose recorded gives no interval; name the first dose's time",
            field="start",
        )
    due = starts[-1] + (starts[-1] - starts[-2])
    return course.origin + timedelta(hours=due)


def schedule(
    course: PatientCourse, ranked: Recommendation, start: datetime | None, zone: ZoneInfo
) -> dict[str, Any]:
    """The top regimen's doses over the next 48 h, as local times of ``zone``."""
    if not ranked.regimens:
        return {"time_zone": zone.key, "first_dose": None, "doses": []}
    top = ranked.regimens[0]
    # in UTC before any arithmetic: Python adds a timedelta to a datetime of a ZoneInfo
    # zone on the wall clock (a q12h across a DST change would become 11 or 13 h)
    first = (start if start is not None else next_due(course)).astimezone(UTC)
    interval = timedelta(hours=top.interval_h)
    doses: list[dict[str, Any]] = []
    maintenance = first
    if ranked.loading_dose_mg is not None:
        doses.append({"time": first.astimezone(zone).isoformat(), "dose_mg": ranked.loading_dose_mg,
                      "infusion_h": ranked.loading_infusion_h, "loading": True})  # fmt: skip
        maintenance = first + interval
    count = math.ceil(SCHEDULE_HOURS / top.interval_h)
    for k in range(count):
        at = maintenance + k * interval  # aware datetimes: elapsed time, not wall clock
        doses.append({"time": at.astimezone(zone).isoformat(), "dose_mg": top.dose_mg,
                      "infusion_h": top.infusion_h, "loading": False})  # fmt: skip
    return {"time_zone": zone.key, "first_dose": doses[0]["time"], "doses": doses}
