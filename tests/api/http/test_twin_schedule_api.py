"""A recommendation's dose times (issue 14, gap e): the top regimen scheduled on absolute
time and shown in the site's time zone (``TWINREG_SITE_TIME_ZONE``): across a
daylight-saving change a q12h schedule stays 12 h apart while the local clock moves."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from api.composition.settings import Settings
from api.errors import ConfigError
from tests.api.twin_course import COVARIATES, DOSES, LEVELS, P1, add, calibrate, new_twin


@pytest.fixture()
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, site_time_zone="Europe/London")


def _recommend(api: Any, **body: Any) -> Any:
    twin = new_twin(api)
    assert add(api, COVARIATES + DOSES + LEVELS).status_code == 201
    assert calibrate(api, twin).status_code == 201
    return api.client.post(f"{P1}/twins/{twin}/recommendations", json=body,
                           headers=api.clinician)  # fmt: skip


# Europe/London: clocks go forward at 01:00 UTC on 2026-03-29 and back at 01:00 UTC on
# 2026-10-25; each start is in the hours before, so the 48-h schedule crosses the change.
@pytest.mark.parametrize(
    ("start", "offsets"),
    [("2026-03-28T20:00:00Z", {"+00:00", "+01:00"}),
     ("2026-10-24T21:30:00+01:00", {"+01:00", "+00:00"})],
    ids=["spring-forward", "fall-back"],
)  # fmt: skip
def test_doses_stay_an_interval_apart_across_a_dst_change_in_the_site_zone(
    api: Any, start: str, offsets: set[str]
) -> None:
    r = _recommend(api, start=start)
    assert r.status_code == 201, r.text
    body = r.json()["body"]
    top = body["recommendation"]["regimens"][0]
    plan = body["schedule"]
    assert plan["time_zone"] == "Europe/London"
    times = [datetime.fromisoformat(d["time"]) for d in plan["doses"]]
    assert times[0] == datetime.fromisoformat(start)
    assert plan["first_dose"] == plan["doses"][0]["time"]
    assert {t.isoformat()[-6:] for t in times} == offsets  # local times on both sides
    gaps = {b - a for a, b in itertools.pairwise(times)}
    assert gaps == {timedelta(hours=top["interval_h"])}
    assert all(d["dose_mg"] == top["dose_mg"] for d in plan["doses"])


def test_without_a_start_the_first_dose_is_when_the_next_dose_is_due(api: Any) -> None:
    r = _recommend(api, loading=True)
    assert r.status_code == 201, r.text
    plan = r.json()["body"]["schedule"]
    # the last recorded dose started 2026-03-02 20:00Z every 12 h: next due 03-03 08:00Z
    assert plan["first_dose"] == "2026-03-03T08:00:00+00:00"  # London is on GMT then
    assert plan["doses"][0]["loading"] and not plan["doses"][1]["loading"]


def test_an_unknown_time_zone_is_a_configuration_error(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="TWINREG_SITE_TIME_ZONE"):
        Settings.load(tmp_path, environ={"TWINREG_SITE_TIME_ZONE": "Mars/Olympus_Mons"})
    assert Settings.load(tmp_path, environ={}).site_time_zone == "UTC"
