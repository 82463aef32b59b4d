"""A vancomycin course as observations (issue 14's patient twins), for the API tests."""

from __future__ import annotations

from typing import Any

VANCO = "vancomycin-auc"
#: The categories a vancomycin twin's observations need (dialysis status is history).
TWIN_CATEGORIES = ["demographics", "labs", "medication", "history"]


def obs(ident: str, kind: str, time: str, **fields: Any) -> dict[str, Any]:
    return {"id": ident, "source": "ward", "kind": kind, "time": time, **fields}


def dose(ident: str, start: str) -> dict[str, Any]:
    parts = {"amount": {"value": 1000, "unit": "mg"}, "start": start,
             "duration": {"value": 1, "unit": "h"}}  # fmt: skip
    return obs(ident, "vancomycin_dose", start, components=parts)


COVARIATES = [
    obs("age", "age", "2026-03-01T06:00:00Z", value=55, unit="a"),
    obs("sex", "sex", "2026-03-01T06:00:00Z", value="male"),
    obs("wt", "weight", "2026-03-01T06:00:00Z", value=80, unit="kg"),
    obs("scr", "serum_creatinine", "2026-03-01T06:30:00Z", value=88.4, unit="umol/L",
        code="2160-0"),
]  # fmt: skip
DOSES = [dose(f"d{i}", f"2026-03-0{1 + i // 2}T{8 + 12 * (i % 2):02d}:00:00Z") for i in range(4)]
LEVELS = [
    obs("l1", "vancomycin_level", "2026-03-02T10:00:00Z", value=28.0, unit="mg/L", code="4090-7"),
    obs("l2", "vancomycin_level", "2026-03-02T19:30:00Z", value=12.0, unit="mg/L", code="4092-3"),
]


def prepare_twin(api: Any, patient: str = "p-1") -> str:
    """A vancomycin twin of ``patient`` (registered, consented) fed and calibrated once."""
    base = f"/v1/patients/{patient}"
    r = api.client.post(base + "/twins", json={"model": VANCO, "purpose": "treatment"},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 201, r.text
    twin_id: str = r.json()["twin_id"]
    r = api.client.post(base + "/observations", json={"observations": COVARIATES + DOSES + LEVELS},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 201, r.text
    r = api.client.post(f"{base}/twins/{twin_id}/calibrations", headers=api.clinician)
    assert r.status_code == 201, r.text
    return twin_id


P1 = "/v1/patients/p-1"


def new_twin(api: Any, categories: list[str] | None = None) -> str:
    """A vancomycin twin of a newly registered, consented ``p-1`` (nothing observed yet)."""
    from tests.api.helpers import prepare_patient

    prepare_patient(api, "p-1", categories or TWIN_CATEGORIES)
    r = api.client.post(P1 + "/twins", json={"model": VANCO, "purpose": "treatment"},
                        headers=api.clinician)  # fmt: skip
    assert r.status_code == 201, r.text
    twin_id: str = r.json()["twin_id"]
    return twin_id


def add(api: Any, observations: list[dict[str, Any]]) -> Any:
    return api.client.post(P1 + "/observations", json={"observations": observations},
                           headers=api.clinician)  # fmt: skip


def calibrate(api: Any, twin_id: str) -> Any:
    return api.client.post(f"{P1}/twins/{twin_id}/calibrations", headers=api.clinician)


def audit_body(api: Any, record_id: str) -> dict[str, Any]:
    """The body of one audit record, as stored."""
    import json

    from sqlalchemy import text

    with api.service.engine.connect() as conn:
        row = conn.execute(
            text("SELECT action, body FROM audit_record WHERE record_id = :id"), {"id": record_id}
        ).one()
    body: dict[str, Any] = json.loads(row.body)
    body = body.get("payload", body) if "payload" in body else body
    return {"action": row.action, **body}
