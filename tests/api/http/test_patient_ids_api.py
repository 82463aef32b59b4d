"""Patient ids are scoped per site (issue 13, finding 6): a site's "patient-042" and
another site's "patient-042" are two patients, so no route tells a clinician whether an
id exists at another site, and no site can take an id another site will need."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from api.cli.demo import SITE
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, prepare_patient, run_sql, twin_named

WHAS = "whas500-mortality"
VANCO = "vancomycin-auc"
CATS = ["demographics", "vitals", "history"]
OTHER_SITE = "st-john"
#: Registered (with a consent) at the clinician's own site, st-mary.
THEIRS = "patient-042"
UNKNOWN = "patient-never-registered"


@pytest.fixture()
def consent_id(api: Any) -> str:
    return prepare_patient(api, THEIRS, [*CATS, "labs", "medication"])


def _olga(api: Any) -> dict[str, str]:
    return api.headers("olga", "clinician", OTHER_SITE)


def _answer(response: Any, patient: str) -> tuple[int, Any]:
    """Status and body, without what differs by construction (record ids, the id sent)."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    text = str(body).replace(patient, "<id>")
    for key in ("audit_id", "id"):
        if isinstance(body, dict) and key in body:
            text = text.replace(str(body[key]), f"<{key}>")
    if isinstance(body, dict):
        for scenario in body.get("scenarios", []):
            text = text.replace(str(scenario.get("audit_id")), "<audit_id>")
    return response.status_code, text


def _routes(demo_twins: list[DemoTwin], mechanistic_twins: list[DemoTwin]) -> dict[str, Any]:
    whas = features_of(twin_named(demo_twins, WHAS))
    vanco = features_of(twin_named(mechanistic_twins, VANCO))
    return {
        "consents list": lambda c, p, h, _cid: c.get(f"/v1/patients/{p}/consents", headers=h),
        "consent grant": lambda c, p, h, _cid: c.post(
            f"/v1/patients/{p}/consents",
            json={"purpose": "treatment", "data_categories": ["vitals"]},
            headers=h,
        ),
        "consent withdraw": lambda c, p, h, cid: c.post(
            f"/v1/patients/{p}/consents/{cid}/withdraw", headers=h
        ),
        "prediction": lambda c, p, h, _cid: c.post(
            "/v1/predictions",
            json={"model": WHAS, "patient_id": p, "purpose": "treatment", "features": whas},
            headers=h,
        ),
        "simulation": lambda c, p, h, _cid: c.post(
            "/v1/simulations",
            json={
                "model": VANCO,
                "patient_id": p,
                "purpose": "treatment",
                "features": vanco,
                "scenarios": [{"name": "a", "features": {}}],
            },
            headers=h,
        ),
        "register": lambda c, p, h, _cid: c.put(
            f"/v1/patients/{p}", json={"site": OTHER_SITE}, headers=h
        ),
    }


ROUTES = (
    "consents list",
    "consent grant",
    "consent withdraw",
    "prediction",
    "simulation",
    "register",
)


@pytest.mark.parametrize("route", ROUTES)
def test_another_sites_id_and_an_unknown_id_get_the_same_answer(
    api: Any,
    demo_twins: list[DemoTwin],
    mechanistic_twins: list[DemoTwin],
    consent_id: str,
    route: str,
) -> None:
    call = _routes(demo_twins, mechanistic_twins)[route]
    theirs = call(api.client, THEIRS, _olga(api), consent_id)
    unknown = call(api.client, UNKNOWN, _olga(api), str(uuid.uuid4()))
    assert _answer(theirs, THEIRS) == _answer(unknown, UNKNOWN)
    assert theirs.status_code < 500, theirs.text


def test_no_site_can_take_an_id_another_site_needs(api: Any, demo_twins: list[DemoTwin]) -> None:
    """st-john registers "patient-7" first; st-mary's "patient-7" is still theirs to
    register, and each site's consents cover only its own patient."""
    olga = _olga(api)
    r = api.client.put("/v1/patients/patient-7", json={"site": OTHER_SITE}, headers=olga)
    assert (r.status_code, r.json()["created"]) == (200, True)
    prepare_patient(api, "patient-7", CATS)  # st-mary: registered (200) and consented
    body = {
        "model": WHAS,
        "patient_id": "patient-7",
        "purpose": "treatment",
        "features": features_of(twin_named(demo_twins, WHAS)),
    }
    assert api.client.post("/v1/predictions", json=body, headers=api.clinician).status_code == 200
    withheld = api.client.post("/v1/predictions", json=body, headers=olga)
    assert withheld.status_code == 403, withheld.text
    assert withheld.json()["reasons"][0]["check"] == "consent"  # st-john's own patient
    assert api.client.get("/v1/patients/patient-7/consents", headers=olga).json() == []
    again = api.client.put("/v1/patients/patient-7", json={"site": SITE}, headers=api.clinician)
    assert (again.status_code, again.json()["created"]) == (200, False)


def test_admins_name_the_site_of_the_patient(api: Any) -> None:
    r = api.client.put("/v1/patients/p-9", json={"site": "far-away"}, headers=api.admin)
    assert (r.status_code, r.json()["created"]) == (200, True)
    grant = {"purpose": "research", "data_categories": ["vitals"]}
    missing = api.client.post("/v1/patients/p-9/consents", json=grant, headers=api.admin)
    assert missing.status_code == 422 and missing.json()["field"] == "site"
    r = api.client.post(
        "/v1/patients/p-9/consents", params={"site": "far-away"}, json=grant, headers=api.admin
    )
    assert r.status_code == 201, r.text
    listed = api.client.get(
        "/v1/patients/p-9/consents", params={"site": "far-away"}, headers=api.admin
    )
    assert [c["purpose"] for c in listed.json()] == ["research"]
    elsewhere = api.client.get(
        "/v1/patients/p-9/consents", params={"site": SITE}, headers=api.admin
    )
    assert elsewhere.status_code == 404
    # a clinician naming another site is refused, whatever the patient
    r = api.client.get(
        "/v1/patients/p-9/consents", params={"site": "far-away"}, headers=api.clinician
    )
    assert r.status_code == 403, r.text


def test_a_patient_registered_before_ids_were_scoped_keeps_its_records(
    api: Any, demo_twins: list[DemoTwin]
) -> None:
    """Rows written under the unscoped key (before this change) are found by (their
    site, their id), by every route, and by no other site."""
    key = api.service.pseudonymiser.patient_key("p-old")
    url, now = api.service.settings.governance_url, datetime.now(UTC)
    run_sql(
        url,
        "INSERT INTO patient (patient_key, site, registered_by, registered_at) "
        "VALUES (:key, :site, 'carla', :now)",
        key=key,
        site=SITE,
        now=now,
    )
    run_sql(
        url,
        "INSERT INTO consent (id, patient_key, purpose, data_categories, granted_by, "
        "granted_at) VALUES (:id, :key, 'treatment', :cats, 'carla', :now)",
        id=str(uuid.uuid4()),
        key=key,
        cats='["demographics", "history", "vitals"]',
        now=now,
    )
    body = {
        "model": WHAS,
        "patient_id": "p-old",
        "purpose": "treatment",
        "features": features_of(twin_named(demo_twins, WHAS)),
    }
    r = api.client.post("/v1/predictions", json=body, headers=api.clinician)
    assert r.status_code == 200, r.text
    record = api.service.audit.records(action="prediction")[-1]
    assert record["patient"] == key  # the decision names the row it was made on
    listed = api.client.get("/v1/patients/p-old/consents", headers=api.clinician)
    assert [c["purpose"] for c in listed.json()] == ["treatment"]
    again = api.client.put("/v1/patients/p-old", json={"site": SITE}, headers=api.clinician)
    assert again.json()["created"] is False
    assert run_sql(url, "SELECT count(*) FROM patient")[0][0] >= 1
    olga = _olga(api)
    assert api.client.get("/v1/patients/p-old/consents", headers=olga).status_code == 404
    withheld = api.client.post("/v1/predictions", json=body, headers=olga)
    assert withheld.json()["reasons"][0]["check"] == "site"
