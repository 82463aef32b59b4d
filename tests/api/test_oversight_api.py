"""Human oversight through the real app: overrides and the ethics-board report."""

from __future__ import annotations

import csv
import io
from typing import Any

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
