"""Human oversight through the real app: overrides and the ethics-board report."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, prepare_patient, twin_named

M = "whas500-mortality"


def _released(api: Any, demo_twins: list[DemoTwin]) -> str:
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    body = {
        "model": M,
        "patient_id": "p-1",
        "purpose": "treatment",
        "features": features_of(twin_named(demo_twins, M)),
    }
    response = api.client.post("/v1/predictions", json=body, headers=api.clinician)
    assert response.status_code == 200, response.text
    audit_id: str = response.json()["audit_id"]
    return audit_id


def test_override_recorded_and_reported(api: Any, demo_twins: list[DemoTwin]) -> None:
    audit_id = _released(api, demo_twins)
    url = f"/v1/predictions/{audit_id}/overrides"
    r = api.client.post(
        url, json={"action": "overridden", "reason": "recent labs"}, headers=api.clinician
    )
    assert r.status_code == 201, r.text
    assert (
        api.client.post(
            url, json={"action": "overridden", "reason": ""}, headers=api.clinician
        ).status_code
        == 422
    )
    assert (
        api.client.post(
            url, json={"action": "ignored", "reason": "x"}, headers=api.clinician
        ).status_code
        == 400
    )
    other = api.headers("olga", "clinician", "st-elsewhere")
    assert api.client.post(
        url, json={"action": "disregarded", "reason": "x"}, headers=other
    ).status_code in (403, 404)
    report = api.client.get("/v1/reports/ethics", headers=api.ethics)
    assert report.status_code == 200, report.text
    data = report.json()
    assert data["overrides"]["entries"][0]["reason"] == "recent labs"
    assert data["decisions"]["released"] >= 1
    assert data["audit_chain"]["ok"] is True


def test_report_exports(api: Any, demo_twins: list[DemoTwin]) -> None:
    _released(api, demo_twins)
    csv_text = api.client.get("/v1/reports/ethics", params={"format": "csv"}, headers=api.ethics)
    assert csv_text.status_code == 200
    assert csv_text.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_text.text)))
    assert rows[0] == ["section", "row", "field", "value"]
    html = api.client.get("/v1/reports/ethics", params={"format": "html"}, headers=api.ethics)
    assert html.status_code == 200 and "<svg" in html.text and "http" not in html.text
    bad = api.client.get("/v1/reports/ethics", params={"format": "pdf"}, headers=api.ethics)
    assert bad.status_code == 422
    assert api.client.get("/v1/reports/ethics", headers=api.clinician).status_code == 403


PERIOD_ENDPOINTS = ["/v1/reports/ethics", "/v1/audit/records"]


@pytest.mark.parametrize("path", PERIOD_ENDPOINTS)
@pytest.mark.parametrize(
    "value",
    [
        "0.63",  # a number: Litestar's datetime read it as 1970-01-01T00:00:00.63Z
        "1700000000",
        "2026-01-31",  # a date alone
        "2026-01-31T08:00:00",  # no time zone: was a 500 (report) and a 503 (records)
        "2026-01-31 08:00:00Z",  # a space for T
        "20260131T080000Z",  # ISO 8601 basic format
        "2026-02-30T08:00:00Z",  # no such day
        "2026-01-31T08:00:00+24:00",  # no such offset
        "",
    ],
)
@pytest.mark.parametrize("name", ["since", "until"])
def test_date_time_parameters_are_strict(api: Any, path: str, name: str, value: str) -> None:
    response = api.client.get(path, params={name: value}, headers=api.ethics)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 422 and body["field"] == name
    assert body["detail"].startswith(f"{name} must be an ISO 8601 date-time with a time zone")


@pytest.mark.parametrize("path", PERIOD_ENDPOINTS)
def test_iso_8601_periods_still_work(api: Any, demo_twins: list[DemoTwin], path: str) -> None:
    _released(api, demo_twins)
    for since, until in [
        ("2020-01-01T00:00:00Z", "2099-12-31T23:59:59.999999Z"),
        ("2020-01-01T01:00:00+01:00", "2099-12-31T23:59:59-05:00"),
        ("2020-01-01t00:00:00.5z", None),  # RFC 3339 allows lower-case t and z
        ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"),  # past the ends in UTC
    ]:
        params = {"since": since} | ({"until": until} if until else {})
        response = api.client.get(path, params=params, headers=api.ethics)
        assert response.status_code == 200, (params, response.text)
    empty = api.client.get(
        "/v1/audit/records",
        params={"since": "2099-01-01T00:00:00Z", "until": "2099-01-02T00:00:00Z"},
        headers=api.ethics,
    )
    assert empty.status_code == 200 and empty.json() == []


def test_report_period_is_in_utc(api: Any, demo_twins: list[DemoTwin]) -> None:
    """An offset is honoured: the same instant in two zones gives the same period."""
    _released(api, demo_twins)
    reports = [
        api.client.get(
            "/v1/reports/ethics",
            params={"since": since, "until": "2099-01-01T00:00:00Z"},
            headers=api.ethics,
        ).json()
        for since in ("2020-01-01T00:00:00Z", "2020-01-01T05:30:00+05:30")
    ]
    assert reports[0]["since"] == reports[1]["since"] == "2020-01-01T00:00:00.000000Z"
    assert reports[0]["decisions"]["released"] == reports[1]["decisions"]["released"] >= 1


def test_report_until_before_since_is_422(api: Any) -> None:
    response = api.client.get(
        "/v1/reports/ethics",
        params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        headers=api.ethics,
    )
    assert response.status_code == 422 and response.json()["field"] == "until", response.text


def test_a_leap_second_is_the_instant_before_it(api: Any) -> None:
    """RFC 3339 allows ``:60``; Python has no leap seconds, so it is the last microsecond
    before it."""
    report = api.client.get(
        "/v1/reports/ethics",
        params={"since": "2016-12-31T23:59:60Z", "until": "2017-01-01T00:00:00.5+00:00"},
        headers=api.ethics,
    )
    assert report.status_code == 200, report.text
    assert report.json()["since"] == "2016-12-31T23:59:59.999999Z"
    for bad in ("2016-12-31T23:59:61Z", "2016-12-31T23:59:60"):
        response = api.client.get("/v1/reports/ethics", params={"since": bad}, headers=api.ethics)
        assert response.status_code == 422 and response.json()["field"] == "since", bad


def test_an_edited_checkpoints_file_fails_verification(api: Any) -> None:
    """The checkpoints file is evidence too: a line edited into garbage is a failed
    verification naming the file and line, not an error."""
    api.service.audit_checkpoint()
    api.service.audit_checkpoint()
    path = api.service.settings.checkpoints_file
    first, second = path.read_text(encoding="utf-8").splitlines()
    path.write_text(first + "\n" + second.replace('"count"', '"cnt"') + "\n", encoding="utf-8")
    body = api.client.get("/v1/audit/verify", headers=api.ethics).json()
    assert body["ok"] is False
    assert f"{path}:2: malformed checkpoint" in body["message"]
    # ... and the readable checkpoint is still checked
    assert (
        f"records verified; 1 checkpoints matched, covering seq 1..{body['count']}"
        in (body["message"])
    )
    assert body["count"] > 0
    report = api.client.get("/v1/reports/ethics", headers=api.ethics)
    assert report.status_code == 200, report.text
    chain = report.json()["audit_chain"]
    assert chain["ok"] is False and f"{path}:2: malformed checkpoint" in chain["message"]
