"""Device bindings through the real app: a clinician binds a device to a patient of their
site (and a twin of theirs) and unbinds it, each audited; refusals name what to fix; a
device's own role reaches nothing over HTTP."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from tests.api.helpers import prepare_patient
from tests.api.twin_course import COVARIATES, TWIN_CATEGORIES, VANCO

B = "/v1/devices/cgm-0001/binding"


def _twin(api: Any, patient: str = "p-1") -> str:
    prepare_patient(api, patient, TWIN_CATEGORIES)
    r = api.client.post(f"/v1/patients/{patient}/twins", headers=api.clinician,
                        json={"model": VANCO, "purpose": "treatment"})  # fmt: skip
    assert r.status_code == 201, r.text
    twin_id: str = r.json()["twin_id"]
    return twin_id


def _records(api: Any, action: str) -> list[dict[str, Any]]:
    with api.service.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT body FROM audit_record WHERE action = :a ORDER BY seq"), {"a": action}
        )
        return [json.loads(r[0])["payload"] for r in rows]


def test_bind_unbind_and_bind_again_each_audited(api: Any) -> None:
    twin = _twin(api)
    r = api.client.post(B, json={"patient_id": "p-1", "twin_id": twin}, headers=api.clinician)
    assert r.status_code == 201, r.text
    bound = r.json()
    assert bound["device_id"] == "cgm-0001" and bound["twin_id"] == twin
    assert bound["site"] == "st-mary" and bound["unbound_at"] is None
    again = api.client.post(B, json={"patient_id": "p-1"}, headers=api.clinician)
    assert again.status_code == 409 and "unbind it first" in again.json()["detail"]
    r = api.client.delete(B, headers=api.clinician)
    assert r.status_code == 200, r.text
    assert r.json()["unbound_at"] and r.json()["audit_id"] != bound["audit_id"]
    assert api.client.delete(B, headers=api.clinician).status_code == 404
    assert api.client.post(B, json={"patient_id": "p-1"}, headers=api.clinician).status_code == 201
    records = _records(api, "device.bound")
    assert [r["twin"] for r in records] == [twin, None]
    assert all(r["device"] == "cgm-0001" and r["principal"]["role"] == "clinician"
               for r in records)  # fmt: skip
    assert "p-1" not in json.dumps(records)  # the patient only as their keyed hash
    (unbound,) = _records(api, "device.unbound")
    assert unbound["binding"] == bound["binding_id"] and unbound["patient"] == records[0]["patient"]


def test_refusals_name_what_to_fix(api: Any) -> None:
    twin = _twin(api)
    bad = api.client.post("/v1/devices/CGM.1/binding", json={"patient_id": "p-1"},
                          headers=api.clinician)  # fmt: skip
    assert bad.status_code == 422 and bad.json()["field"] == "device_id"
    r = api.client.post(B, json={"patient_id": "nobody"}, headers=api.clinician)
    assert r.status_code == 404
    r = api.client.post(B, json={"patient_id": "p-1", "twin_id": "x"}, headers=api.clinician)
    assert r.status_code == 422 and r.json()["field"] == "twin_id"
    other = _twin(api, "p-2")
    r = api.client.post(B, json={"patient_id": "p-1", "twin_id": other}, headers=api.clinician)
    assert r.status_code == 404  # a twin of another patient
    for headers in (api.admin, api.data_scientist, api.headers("c", "clinician", "st-elsewhere")):
        r = api.client.post(B, json={"patient_id": "p-1", "twin_id": twin}, headers=headers)
        assert r.status_code in (403, 404), r.text
    with api.service.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM device_binding")).scalar_one() == 0
    refused = _records(api, "request.refused")
    assert len(refused) >= 6  # every refusal answered is recorded


def test_a_device_bound_at_one_site_is_not_found_at_another(api: Any) -> None:
    _twin(api)
    assert api.client.post(B, json={"patient_id": "p-1"}, headers=api.clinician).status_code == 201
    elsewhere = api.headers("c", "clinician", "st-elsewhere")
    assert api.client.delete(B, headers=elsewhere).status_code == 404


def test_the_device_role_reaches_nothing_over_http(api: Any) -> None:
    """The ingester acts as role ``device`` at a binding's site; a token may carry that
    role only without a site (tokens carry sites for clinicians only), which grants
    nothing at any site."""
    _twin(api)
    device = api.headers("cgm-0001@device", "device")
    r = api.client.post("/v1/patients/p-1/observations", json={"observations": COVARIATES[:1]},
                        headers=device, params={"site": "st-mary"})  # fmt: skip
    assert r.status_code == 403, r.text
    assert api.client.post(B, json={"patient_id": "p-1"}, headers=device).status_code == 403
