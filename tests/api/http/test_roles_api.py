"""Every role's allowed and refused actions from the roles table, through the real app."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from api.cli.demo import DATA_SCIENTIST
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, prepare_patient, twin_named

WHAS = "whas500-mortality"
V1 = f"/v1/models/{WHAS}/versions/1"


def test_every_role_reads_models(api: Any) -> None:
    for headers in (api.data_scientist, api.validator, api.clinician, api.ethics, api.admin):
        r = api.client.get("/v1/models", headers=headers)
        assert r.status_code == 200, r.text
        assert {m["name"] for m in r.json()} >= {WHAS}
        assert api.client.get(V1, headers=headers).status_code == 200


@pytest.mark.parametrize("role", ["data_scientist", "clinician", "admin", "validator"])
def test_only_ethics_board_reads_audit(api: Any, role: str) -> None:
    headers = api.headers("u", role, "st-mary" if role == "clinician" else None)
    assert api.client.get("/v1/audit/records", headers=headers).status_code == 403
    assert api.client.get("/v1/audit/verify", headers=headers).status_code == 403
    assert api.client.get("/v1/audit/verify", headers=api.ethics).json()["ok"] is True


@pytest.mark.parametrize("role", ["data_scientist", "clinician", "ethics_board", "admin"])
def test_only_validators_approve_reject_and_audit_bias(api: Any, role: str) -> None:
    headers = api.headers("u", role, "st-mary" if role == "clinician" else None)
    for action in ("approve", "reject"):
        r = api.client.post(f"{V1}/{action}", json={"comment": "x"}, headers=headers)
        assert r.status_code == 403, r.text
    assert api.client.post(f"{V1}/bias-audits", headers=headers).status_code == 403


@pytest.mark.parametrize("role", ["data_scientist", "clinician", "validator", "admin"])
def test_only_ethics_board_suspends(api: Any, role: str) -> None:
    headers = api.headers("u", role, "st-mary" if role == "clinician" else None)
    for action in ("suspend", "reinstate"):
        r = api.client.post(f"{V1}/{action}", json={"comment": "x"}, headers=headers)
        assert r.status_code == 403, r.text


@pytest.mark.parametrize("role", ["data_scientist", "validator", "ethics_board"])
def test_patients_and_consents_only_clinicians_and_admins(api: Any, role: str) -> None:
    headers = api.headers("u", role)
    assert (
        api.client.put("/v1/patients/p-9", json={"site": "st-mary"}, headers=headers).status_code
        == 403
    )
    api.client.put("/v1/patients/p-9", json={"site": "st-mary"}, headers=api.clinician)
    r = api.client.post(
        "/v1/patients/p-9/consents",
        headers=headers,
        json={"purpose": "treatment", "data_categories": ["vitals"]},
    )
    assert r.status_code == 403, r.text


def test_clinician_cannot_act_at_another_site(api: Any) -> None:
    other = api.headers("olga", "clinician", "st-elsewhere")
    assert (
        api.client.put("/v1/patients/p-9", json={"site": "st-mary"}, headers=other).status_code
        == 403
    )
    api.client.put("/v1/patients/p-9", json={"site": "st-mary"}, headers=api.clinician)
    r = api.client.post(
        "/v1/patients/p-9/consents",
        headers=other,
        json={"purpose": "treatment", "data_categories": ["vitals"]},
    )
    assert r.status_code == 404, r.text


def test_the_same_id_at_another_site_is_another_patient(api: Any) -> None:
    """Ids are scoped per site: nothing is moved, and nothing answers 409."""
    api.client.put("/v1/patients/p-9", json={"site": "st-mary"}, headers=api.clinician)
    other = api.headers("olga", "clinician", "st-elsewhere")
    r = api.client.put("/v1/patients/p-9", json={"site": "st-elsewhere"}, headers=other)
    assert (r.status_code, r.json()["created"]) == (200, True)
    r = api.client.put("/v1/patients/p-9", json={"site": "st-far"}, headers=api.admin)
    assert (r.status_code, r.json()["site"], r.json()["created"]) == (200, "st-far", True)
    r = api.client.put("/v1/patients/p-9", json={"site": "st-mary"}, headers=api.clinician)
    assert (r.status_code, r.json()["created"]) == (200, False)


def test_admin_manages_consents_at_any_site(api: Any) -> None:
    assert (
        api.client.put("/v1/patients/p-9", json={"site": "far-away"}, headers=api.admin).status_code
        == 200
    )
    r = api.client.post(
        "/v1/patients/p-9/consents",
        params={"site": "far-away"},
        headers=api.admin,
        json={"purpose": "research", "data_categories": ["vitals"]},
    )
    assert r.status_code == 201, r.text


def test_data_scientist_registers_but_never_approves_own(
    api: Any, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, WHAS)
    rv = api.service.register_version(
        DATA_SCIENTIST, WHAS, twin.card.kind, twin.model, twin.card, twin.evaluation
    )
    url = f"/v1/models/{WHAS}/versions/{rv.version}"
    # the registrant, even holding a validator token, cannot approve its own version
    own = api.headers(DATA_SCIENTIST.user, "validator")
    assert api.client.post(f"{url}/bias-audits", headers=own).status_code == 201
    assert api.client.post(f"{url}/dossier", headers=api.validator).status_code == 201
    r = api.client.post(f"{url}/approve", json={"comment": "mine"}, headers=own)
    assert r.status_code == 403, r.text
    assert "four-eyes" in r.json()["detail"]
    assert "can never approve it" in r.json()["detail"]
    # nor reject it: a registrant's decision either way is not a second pair of eyes
    r = api.client.post(f"{url}/reject", json={"comment": "withdrawn"}, headers=own)
    assert r.status_code == 403, r.text
    assert "can never reject it" in r.json()["detail"]
    assert api.client.get(url, headers=api.validator).json()["status"] == "validated"
    r = api.client.post(f"{url}/approve", json={"comment": "reviewed"}, headers=api.validator)
    assert r.status_code == 200, r.text
    detail = api.client.get(f"/v1/models/{WHAS}", headers=api.validator).json()
    assert detail["approved_version"] == rv.version
    old = api.client.get(V1, headers=api.validator).json()
    assert old["status"] == "retired"
    assert api.service.registry.approved_alias(WHAS) == rv.version


def test_approval_needs_a_passing_bias_audit(api: Any, demo_twins: list[DemoTwin]) -> None:
    twin = twin_named(demo_twins, WHAS)
    rv = api.service.register_version(
        DATA_SCIENTIST, WHAS, twin.card.kind, twin.model, twin.card, twin.evaluation
    )
    r = api.client.post(
        f"/v1/models/{WHAS}/versions/{rv.version}/approve",
        json={"comment": "skip the audit"},
        headers=api.validator,
    )
    assert r.status_code == 409, r.text


def test_reject_with_comment(api: Any, demo_twins: list[DemoTwin]) -> None:
    twin = twin_named(demo_twins, WHAS)
    rv = api.service.register_version(
        DATA_SCIENTIST, WHAS, twin.card.kind, twin.model, twin.card, twin.evaluation
    )
    url = f"/v1/models/{WHAS}/versions/{rv.version}"
    assert (
        api.client.post(f"{url}/reject", json={"comment": ""}, headers=api.validator).status_code
        == 422
    )
    r = api.client.post(
        f"{url}/reject", json={"comment": "poor calibration"}, headers=api.validator
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"


@pytest.mark.parametrize("token", ["", "Bearer nonsense", "Basic abc"])
def test_missing_or_malformed_token_is_401(api: Any, token: str) -> None:
    r = api.client.get("/v1/models", headers={"Authorization": token} if token else {})
    assert r.status_code == 401, r.text


def test_expired_forged_and_unknown_role_tokens_are_401(api: Any) -> None:
    import time

    import jwt

    key = api.service.token_key
    now = int(time.time())
    base = {"sub": "u", "role": "validator", "iat": now, "exp": now + 60, "jti": "j"}
    bad = [
        jwt.encode({**base, "exp": now - 10}, key, algorithm="HS256"),
        jwt.encode(base, b"another-key-another-key-another-key", algorithm="HS256"),
        jwt.encode({**base, "role": "superuser"}, key, algorithm="HS256"),
        jwt.encode({k: v for k, v in base.items() if k != "jti"}, key, algorithm="HS256"),
        jwt.encode(base, None, algorithm="none"),
        jwt.encode({**base, "nbf": now + 3600}, key, algorithm="HS256"),
        jwt.encode({**base, "iat": now + 3600}, key, algorithm="HS256"),
        jwt.encode(base, key + b"x" * 32, algorithm="HS512"),
        jwt.encode({k: v for k, v in base.items() if k != "sub"}, key, algorithm="HS256"),
    ]
    for token in bad:
        r = api.client.get("/v1/models", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, r.text
    refused = [r for r in api.service.audit.records(limit=1000) if r["action"] == "auth.refused"]
    assert len(refused) >= len(bad)


def test_a_refusal_records_the_route_and_never_a_patient_id_in_its_path(api: Any) -> None:
    patient = "patient-in-the-path-4711"
    path = f"/v1/patients/{patient}/consents"
    r = api.client.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401, r.text
    refusal = api.service.audit.records(action="auth.refused")[-1]
    assert refusal["path"] == "/v1/patients/{patient_id}/consents"
    assert refusal["patient"] == api.service.pseudonymiser.patient_key(patient)
    assert refusal["method"] == "GET"
    assert patient not in json.dumps(api.service.audit.records(limit=10_000))


def test_revoked_token_is_401(api: Any) -> None:
    headers = api.validator
    assert api.client.get("/v1/models", headers=headers).status_code == 200
    api.service.revocations.revoke("test", subject="victor")
    assert api.client.get("/v1/models", headers=headers).status_code == 401


def test_revoked_token_gets_no_prediction(api: Any, demo_twins: list[DemoTwin]) -> None:
    """A prediction reads its token's revocation with the gate's facts (not in the
    middleware): still 401, audited as a refusal, and nothing is decided for it."""
    twin = twin_named(demo_twins, WHAS)
    prepare_patient(api, "p-1", list(twin.card.data_categories))
    body = {"model": WHAS, "patient_id": "p-1", "purpose": "treatment"}
    body["features"] = features_of(twin)
    revoked, kept = api.headers("carol", "clinician", "st-mary"), api.clinician
    for headers in (revoked, kept):
        assert api.client.post("/v1/predictions", json=body, headers=headers).status_code == 200
    decided = len(api.service.audit.records(action="prediction", limit=1000))
    token = revoked["Authorization"].removeprefix("Bearer ")
    api.service.revocations.revoke(
        "test", jti=jwt.decode(token, options={"verify_signature": False})["jti"]
    )
    r = api.client.post("/v1/predictions", json=body, headers=revoked)
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["detail"] == "the token has been revoked"
    refusal = api.service.audit.records(action="auth.refused")[-1]
    assert (refusal["path"], refusal["method"]) == ("/v1/predictions", "POST")
    assert refusal["reason"] == "the token has been revoked"
    assert len(api.service.audit.records(action="prediction", limit=1000)) == decided
    # another user's token is untouched; a revocation of the user binds its older tokens
    assert api.client.post("/v1/predictions", json=body, headers=kept).status_code == 200
    api.service.revocations.revoke("test", subject="carol")
    again = api.headers("carol", "clinician", "st-mary")  # issued before the revocation's instant
    assert api.client.post("/v1/predictions", json=body, headers=again).status_code == 401
    assert api.client.get("/v1/models", headers=again).status_code == 401


def test_health_and_docs_need_no_token(api: Any) -> None:
    assert api.client.get("/health").status_code == 200
    schema = api.client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/v1/predictions" in schema.json()["paths"]
    page = api.client.get("/schema")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "/static/swagger/" in page.text
    assert api.client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
