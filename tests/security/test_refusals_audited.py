"""Every refusal and every read of patient data leaves exactly one audit record (issue 13,
finding 7).

A refusal is an answer of 403 (role, site, four-eyes), 404 (an identifier that names
nothing the caller may see, "not yours" and "not found" alike) or 409 (the current state
forbids it), and a withheld decision. Each leaves one record naming the actor, what was
refused (its action, or the route's template and method) and the outcome; a successful
read of a patient's consents leaves one ``consent.read`` record. No record holds a
patient id in the clear: patients appear as their keyed pseudonym.

The class is enumerated twice: every route of the app's route table for every role at
its own site and a clinician at another (the authorization matrix's cells, so a new route
is covered without an entry here), and the refusals only a state provokes (an unknown
patient or consent, another site named by ``?site=``, the four-eyes rule, an override of
a withheld decision, a transition from the wrong state).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event

from api.cli.demo import CLINICIAN, DATA_SCIENTIST, VALIDATOR
from api.http.refusals import BAD_INPUT_STATUSES
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, prepare_patient, twin_named
from tests.api.twin_course import TWIN_CATEGORIES, prepare_twin
from tests.security.test_authorization_matrix import (
    ALLOWED,
    CELLS,
    M,
    _request,
    _routes,
    prepare_research,
)

REFUSALS = (403, 404, 409)
DECISIONS = {
    "/v1/predictions": "prediction",
    "/v1/simulations": "simulation",
    "/fhir/RiskAssessment/$predict": "prediction",
}
PATIENT = "p-1"
CATS = ["demographics", "vitals", "history"]


def _answer_and_records(api: Any, send: Callable[[], Any]) -> tuple[Any, list[dict[str, Any]]]:
    """The response to ``send()`` and the audit records it added."""
    before = api.service.audit.count()
    response = send()
    return response, api.service.audit.records(offset=before, limit=1000)


def audit_id_of(body: dict[str, Any]) -> str | None:
    """The audit id an answer carries: a problem document's, or a FHIR OperationOutcome's
    audit-record extension."""
    if body.get("resourceType") == "OperationOutcome":
        ids = [e["valueString"] for e in body.get("extension", [])]
        return ids[0] if ids else None
    found: str | None = body.get("audit_id")
    return found


def _actor(record: dict[str, Any]) -> str | None:
    principal = record.get("principal")
    return principal.get("user") if isinstance(principal, dict) else None


def assert_one_refusal(
    where: str, response: Any, added: list[dict[str, Any]], actor: str, route: str
) -> None:
    """Exactly one record for the refusal in ``response``: by ``actor``, naming the
    refused action (or ``route``'s template) and its outcome."""
    assert len(added) == 1, f"{where}: {len(added)} records: {[r['action'] for r in added]}"
    record = added[0]
    assert _actor(record) == actor, f"{where}: {record}"
    if route in DECISIONS and response.status_code == 403:
        assert record["action"] == DECISIONS[route], f"{where}: {record}"
        assert record["decision"] == "withheld", f"{where}: {record}"
        return
    assert record["action"].endswith(".refused"), f"{where}: {record}"
    if record["action"] == "request.refused":  # recorded where the error meets HTTP
        assert record["path"] == route.replace(":str", ""), f"{where}: {record}"
        assert record["status"] == response.status_code, f"{where}: {record}"
    body = response.json()
    assert audit_id_of(body) in (None, record["record_id"]), f"{where}: {body}"


def assert_one_read(where: str, added: list[dict[str, Any]], actor: str) -> None:
    assert [r["action"] for r in added] == ["consent.read"], f"{where}: {added}"
    assert _actor(added[0]) == actor, f"{where}: {added[0]}"


@pytest.mark.parametrize("role,site", CELLS)
def test_every_refusal_of_every_route_is_audited_once(
    api: Any, demo_twins: list[DemoTwin], role: str, site: str
) -> None:
    features = features_of(twin_named(demo_twins, M))
    consent = prepare_patient(api, PATIENT, CATS)
    prepare_patient(api, PATIENT, TWIN_CATEGORIES)
    twin = prepare_twin(api)
    released = api.client.post(
        "/v1/predictions",
        json={"model": M, "patient_id": PATIENT, "purpose": "treatment", "features": features},
        headers=api.clinician,
    ).json()["audit_id"]
    user = f"{role}-user"
    headers = api.headers(
        user,
        role,
        ("st-mary" if site == "own" else "st-elsewhere") if role == "clinician" else None,
    )
    research = prepare_research(api)
    refused = read = 0
    for method, path in _routes(api.client.app):
        response, added = _answer_and_records(
            api,
            lambda m=method, p=path: _request(
                api, m, p, headers, consent, features, released, role, twin, research
            ),
        )
        where = f"{method} {path} as {role}@{site}: {response.status_code} {response.text[:200]}"
        if response.status_code in REFUSALS:
            refused += 1
            assert_one_refusal(where, response, added, user, path)
        elif response.status_code == 200 and path.endswith("/consents") and method == "GET":
            read += 1
            assert_one_read(where, added, user)
    assert refused > 0
    assert PATIENT not in json.dumps(api.service.audit.records(limit=10_000))


#: name -> (status, route template, who sends it, how): refusals a state provokes, not a role.
StateRefusal = tuple[int, str, str, Callable[[], Any]]


def _state_refusals(api: Any, whas: DemoTwin) -> dict[str, StateRefusal]:
    c, nurse, nurse_name = api.client, api.clinician, CLINICIAN.user
    consent = prepare_patient(api, PATIENT, CATS)
    withheld = c.post(
        "/v1/predictions",
        json={
            "model": M,
            "patient_id": PATIENT,
            "purpose": "research",  # consented for treatment only: withheld
            "features": features_of(whas),
        },
        headers=nurse,
    ).json()
    assert withheld["decision"] == "withheld", withheld
    mine = api.service.register_version(
        DATA_SCIENTIST, M, whas.card.kind, whas.model, whas.card, whas.evaluation
    ).version
    registrant = api.headers(DATA_SCIENTIST.user, "validator")
    assert c.post(f"/v1/models/{M}/versions/{mine}/bias-audits", headers=registrant).is_success
    patient = "/v1/patients/{patient_id:str}"
    version = "/v1/models/{name:str}/versions/{version:str}"
    override = "/v1/predictions/{audit_id:str}/overrides"
    gone = "patient-never-registered"
    grant = {"purpose": "treatment", "data_categories": ["vitals"]}
    disregard = {"action": "disregarded", "reason": "x"}
    four_eyes: dict[str, StateRefusal] = {
        f"four-eyes {act}": (
            403,
            f"{version}/{act}",
            DATA_SCIENTIST.user,
            lambda act=act: c.post(
                f"/v1/models/{M}/versions/{mine}/{act}",
                json={"comment": "mine"},
                headers=registrant,
            ),
        )
        for act in ("approve", "reject")
    }
    return four_eyes | {
        "consents of an unknown id": (
            404,
            patient + "/consents",
            nurse_name,
            lambda: c.get(f"/v1/patients/{gone}/consents", headers=nurse),
        ),
        "grant for an unknown id": (
            404,
            patient + "/consents",
            nurse_name,
            lambda: c.post(f"/v1/patients/{gone}/consents", json=grant, headers=nurse),
        ),
        "withdraw for an unknown id": (
            404,
            patient + "/consents/{consent_id:str}/withdraw",
            nurse_name,
            lambda: c.post(f"/v1/patients/{gone}/consents/{consent}/withdraw", headers=nurse),
        ),
        "withdraw of an unknown consent": (
            404,
            patient + "/consents/{consent_id:str}/withdraw",
            nurse_name,
            lambda: c.post(f"/v1/patients/{PATIENT}/consents/no-such/withdraw", headers=nurse),
        ),
        "consents at another site": (
            403,
            patient + "/consents",
            nurse_name,
            lambda: c.get(
                f"/v1/patients/{PATIENT}/consents", params={"site": "st-john"}, headers=nurse
            ),
        ),
        "grant at another site": (
            403,
            patient + "/consents",
            nurse_name,
            lambda: c.post(
                f"/v1/patients/{PATIENT}/consents",
                params={"site": "st-john"},
                json=grant,
                headers=nurse,
            ),
        ),
        "withdraw at another site": (
            403,
            patient + "/consents/{consent_id:str}/withdraw",
            nurse_name,
            lambda: c.post(
                f"/v1/patients/{PATIENT}/consents/{consent}/withdraw",
                params={"site": "st-john"},
                headers=nurse,
            ),
        ),
        "register at another site": (
            403,
            patient,
            nurse_name,
            lambda: c.put(f"/v1/patients/{PATIENT}", json={"site": "st-john"}, headers=nurse),
        ),
        "override of a withheld decision": (
            409,
            override,
            nurse_name,
            lambda: c.post(
                f"/v1/predictions/{withheld['audit_id']}/overrides", json=disregard, headers=nurse
            ),
        ),
        "override of an unknown decision": (
            404,
            override,
            nurse_name,
            lambda: c.post("/v1/predictions/no-such/overrides", json=disregard, headers=nurse),
        ),
        "approve an approved version": (
            409,
            version + "/approve",
            VALIDATOR.user,
            lambda: c.post(
                f"/v1/models/{M}/versions/1/approve",
                json={"comment": "again"},
                headers=api.validator,
            ),
        ),
        "reinstate an approved version": (
            409,
            version + "/reinstate",
            "erin",
            lambda: c.post(
                f"/v1/models/{M}/versions/1/reinstate", json={"comment": "x"}, headers=api.ethics
            ),
        ),
        "an unknown version": (
            404,
            version,
            VALIDATOR.user,
            lambda: c.get(f"/v1/models/{M}/versions/999", headers=api.validator),
        ),
    }


def test_every_refusal_a_state_provokes_is_audited_once(
    api: Any, demo_twins: list[DemoTwin]
) -> None:
    cases = _state_refusals(api, twin_named(demo_twins, M))
    for name, (status, route, actor, send) in cases.items():
        response, added = _answer_and_records(api, send)
        where = f"{name}: {response.status_code} {response.text[:200]}"
        assert response.status_code == status, where
        assert_one_refusal(where, response, added, actor, route)
    logged = json.dumps(api.service.audit.records(limit=10_000))
    assert PATIENT not in logged and "patient-never-registered" not in logged


@pytest.mark.parametrize("role,site", [("clinician", None), ("admin", "st-mary")])
def test_every_read_of_consents_is_audited_once(api: Any, role: str, site: str | None) -> None:
    prepare_patient(api, PATIENT, CATS)
    user = f"{role}-reader"
    headers = api.headers(user, role, "st-mary" if role == "clinician" else None)
    params = {"site": site} if site else None
    response, added = _answer_and_records(
        api,
        lambda: api.client.get(f"/v1/patients/{PATIENT}/consents", params=params, headers=headers),
    )
    assert response.status_code == 200, response.text
    assert_one_read("consent read", added, user)
    record = added[0]
    assert record["patient"] == api.service.pseudonymiser.site_patient_key("st-mary", PATIENT)
    assert record["site"] == "st-mary"
    assert record["consents"] == 1
    assert PATIENT not in json.dumps(record)


def test_a_refusal_or_read_that_cannot_be_recorded_answers_503(api: Any) -> None:
    """Fail closed: no refusal and no read is answered without its record."""
    if api.service.engine.dialect.name != "sqlite":
        pytest.skip("read-only simulation uses SQLite's query_only pragma")
    prepare_patient(api, PATIENT, CATS)
    before = api.service.audit.count()

    def read_only(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only = 1")

    event.listen(api.service.engine, "connect", read_only)
    api.service.engine.dispose()
    try:
        answers = {
            "read": api.client.get(f"/v1/patients/{PATIENT}/consents", headers=api.clinician),
            "unknown id": api.client.get("/v1/patients/nobody/consents", headers=api.clinician),
            "unknown version": api.client.get(
                f"/v1/models/{M}/versions/999", headers=api.validator
            ),
        }
    finally:
        event.remove(api.service.engine, "connect", read_only)
        api.service.engine.dispose()
    for name, r in answers.items():
        assert r.status_code == 503, f"{name}: {r.status_code} {r.text}"
        assert r.json()["detail"].startswith("the audit log could not be written"), r.text
        assert "purpose" not in r.text, f"{name}: {r.text}"
    assert api.service.audit.count() == before


#: A body of the wrong shape for every route that reads one (an array, never an object).
BAD_BODY = [1]


def test_every_bad_body_of_every_route_is_audited_once(api: Any) -> None:
    """A signed-in caller's bad input is a refusal too: every route that reads a body,
    sent one of the wrong shape by a role it allows, answers a bad-input status and leaves
    exactly one record of it (the route's own, or ``request.refused``)."""
    consent = prepare_patient(api, PATIENT, CATS)
    refused = 0
    for method, path in _routes(api.client.app):
        if method not in ("POST", "PUT"):
            continue
        allowed = ALLOWED[(method, path)]
        role = "clinician" if "clinician" in allowed else sorted(allowed)[0]
        user = f"{role}-user"
        headers = api.headers(user, role, "st-mary" if role == "clinician" else None)
        url = (
            path.replace("{patient_id:str}", PATIENT)
            .replace("{consent_id:str}", consent)
            .replace("{name:str}", M)
            .replace("{version:str}", "1")
            .replace("{audit_id:str}", "a-1")
            .replace("{twin_id:str}", "t-1")
        )
        response, added = _answer_and_records(
            api,
            lambda m=method, u=url, h=headers: api.client.request(m, u, json=BAD_BODY, headers=h),
        )
        if response.status_code not in BAD_INPUT_STATUSES:
            continue  # a route that reads no body
        refused += 1
        where = f"{method} {path} as {role}: {response.status_code} {response.text[:200]}"
        assert len(added) == 1, f"{where}: {[r['action'] for r in added]}"
        assert added[0]["action"].endswith(".refused"), f"{where}: {added[0]}"
        assert _actor(added[0]) == user, f"{where}: {added[0]}"
        assert audit_id_of(response.json()) == added[0]["record_id"], where
    assert refused >= 10
    assert PATIENT not in json.dumps(api.service.audit.records(limit=10_000))
