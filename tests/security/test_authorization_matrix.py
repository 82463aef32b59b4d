"""Authorization matrix: every endpoint x every role x own site / other site.

The endpoints come from the app's route table, so a new endpoint without an entry in
``ALLOWED`` fails the test instead of going unchecked. Each refused cell must answer 403
(or 404 for a patient outside the caller's site: the same answer as a patient that does
not exist) and must not leak patient-level data.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.fhir_bundles import bundle, observation, patient, risk_parameters
from tests.api.helpers import features_of, prepare_patient, twin_named
from tests.api.twin_course import COVARIATES, TWIN_CATEGORIES, VANCO, prepare_twin

PUBLIC = {"/health", "/schema", "/static", "/fhir/metadata"}
#: The pages for people authenticate with a session cookie, not a bearer token; their
#: role checks are the same service calls and are tested in a browser (tests/api/http/pages).
PAGES = "/ui"
#: Routes whose refusal by the release gate is a withheld decision (403, the failing check).
DECISIONS = ("/v1/predictions", "/v1/simulations", "/fhir/RiskAssessment/$predict")
#: CDS Hooks services authenticate an EHR's own JWT; the clinician is its mapped user, whose
#: role and site decide through the same service calls (tests/api/http/test_cds_hooks_*).
EHR = "/cds-services"
ROLES = ("data_scientist", "validator", "clinician", "ethics_board", "admin", "researcher")
M = "whas500-mortality"
DEVICE_BINDING = "/v1/devices/{device_id:str}/binding"
COHORT = "/v1/cohorts/{cohort_id:str}"
JOB = "/v1/jobs/{job_id:str}"

#: (method, route path) -> roles allowed; clinicians only at their own site.
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/predictions"): {"clinician"},
    ("POST", "/v1/simulations"): {"clinician"},
    ("PUT", "/v1/patients/{patient_id:str}"): {"clinician", "admin"},
    ("GET", "/v1/patients/{patient_id:str}/consents"): {"clinician", "admin"},
    ("POST", "/v1/patients/{patient_id:str}/consents"): {"clinician", "admin"},
    ("POST", "/v1/patients/{patient_id:str}/consents/{consent_id:str}/withdraw"): {
        "clinician",
        "admin",
    },
    ("GET", "/v1/models"): set(ROLES),
    ("GET", "/v1/models/{name:str}"): set(ROLES),
    ("GET", "/v1/models/{name:str}/versions/{version:str}"): set(ROLES),
    ("POST", "/v1/models/{name:str}/versions/{version:str}/bias-audits"): {"validator"},
    ("POST", "/v1/models/{name:str}/versions/{version:str}/dossier"): {"validator"},
    ("GET", "/v1/models/{name:str}/versions/{version:str}/dossier"): {
        "validator",
        "ethics_board",
        "data_scientist",
    },
    ("GET", "/v1/models/{name:str}/versions/{version:str}/dossier/changes"): {
        "validator",
        "ethics_board",
        "data_scientist",
    },
    ("POST", "/v1/models/{name:str}/versions/{version:str}/approve"): {"validator"},
    ("POST", "/v1/models/{name:str}/versions/{version:str}/reject"): {"validator"},
    ("POST", "/v1/models/{name:str}/versions/{version:str}/suspend"): {"ethics_board"},
    ("POST", "/v1/models/{name:str}/versions/{version:str}/reinstate"): {"ethics_board"},
    ("GET", "/v1/audit/records"): {"ethics_board"},
    ("GET", "/v1/audit/verify"): {"ethics_board"},
    ("POST", "/v1/predictions/{audit_id:str}/overrides"): {"clinician"},
    ("GET", "/v1/reports/ethics"): {"ethics_board"},
    # patient twins: what passes the release gate is a clinician's (like a prediction)
    ("POST", "/v1/patients/{patient_id:str}/twins"): {"clinician"},
    ("POST", "/v1/patients/{patient_id:str}/observations"): {"clinician", "admin"},
    ("POST", "/v1/patients/{patient_id:str}/twins/{twin_id:str}/calibrations"): {"clinician"},
    ("POST", "/v1/patients/{patient_id:str}/twins/{twin_id:str}/forecasts"): {"clinician"},
    ("POST", "/v1/patients/{patient_id:str}/twins/{twin_id:str}/recommendations"): {"clinician"},
    ("GET", "/v1/patients/{patient_id:str}/twins/{twin_id:str}/thread"): {"clinician", "admin"},
    ("POST", "/v1/patients/{patient_id:str}/twins/{twin_id:str}/consent-gaps"): {"clinician"},
    ("POST", "/v1/patients/{patient_id:str}/twins/{twin_id:str}/moves"): {"clinician"},
    ("POST", "/v1/patients/{patient_id:str}/erase"): {"admin"},
    # FHIR: the same service calls (a transaction Bundle writes patients and observations)
    ("POST", "/fhir"): {"clinician", "admin"},
    ("POST", "/fhir/RiskAssessment/$predict"): {"clinician"},
    ("GET", "/fhir/Observation"): {"clinician", "admin"},
    ("GET", "/fhir/MedicationRequest"): {"clinician", "admin"},
    ("GET", "/fhir/Provenance"): {"clinician", "admin"},
    ("GET", "/fhir/AuditEvent"): {"ethics_board"},
    # device streams: a clinician binds a device to a patient of their site, and unbinds it
    ("POST", DEVICE_BINDING): {"clinician"},
    ("DELETE", DEVICE_BINDING): {"clinician"},
    # research: cohorts and in-silico trials are a researcher's
    ("POST", "/v1/cohorts"): {"researcher"},
    ("GET", "/v1/cohorts"): {"researcher"},
    ("GET", COHORT): {"researcher"},
    ("POST", COHORT + "/trials"): {"researcher"},
    ("GET", JOB): {"researcher"},
    ("DELETE", JOB): {"researcher"},
    ("POST", JOB + "/resume"): {"researcher"},
}

#: Routes whose resource lives at a site: a clinician of another site is refused there.
SITE_BOUND = {path for _, path in ALLOWED if "patients" in path} | {
    "/v1/predictions",
    "/v1/simulations",
    "/v1/predictions/{audit_id:str}/overrides",
    "/fhir",
    "/fhir/RiskAssessment/$predict",
    "/fhir/Observation",
    "/fhir/MedicationRequest",
    "/fhir/Provenance",
    DEVICE_BINDING,
}


def _routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for route in app.routes:
        if any(route.path == p or route.path.startswith(p + "/") for p in PUBLIC | {PAGES, EHR}):
            continue
        for method in sorted(getattr(route, "methods", ())):
            if method not in ("OPTIONS", "HEAD"):
                out.append((method, route.path))
    return out


def test_every_route_has_an_entry(api: Any) -> None:
    routes = set(_routes(api.client.app))
    assert routes == set(ALLOWED), (
        f"unlisted: {sorted(routes - set(ALLOWED))}, stale: {sorted(set(ALLOWED) - routes)}"
    )


def _request(
    api: Any,
    method: str,
    path: str,
    headers: dict[str, str],
    consent: str,
    features: dict[str, float],
    released: str,
    role: str,
    twin: str = "",
    research: tuple[str, str] = ("", ""),
) -> Any:
    url = (
        path.replace("{patient_id:str}", "p-1")
        .replace("{audit_id:str}", released)
        .replace("{consent_id:str}", consent)
        .replace("{name:str}", M)
        .replace("{version:str}", "1")
        .replace("{twin_id:str}", twin)
        .replace("{device_id:str}", "cgm-matrix")
        .replace("{cohort_id:str}", research[0])
        .replace("{job_id:str}", research[1])
    )
    body: Any = None
    if path == "/v1/predictions":
        body = {"model": M, "patient_id": "p-1", "purpose": "treatment", "features": features}
    elif path == "/v1/simulations":
        body = {
            "model": "vancomycin-auc",
            "patient_id": "p-1",
            "purpose": "treatment",
            "features": {
                "creatinine_clearance": 90,
                "weight": 70,
                "dose_mg": 1000,
                "interval_h": 12,
            },
            "scenarios": [{"name": "a", "features": {}}],
        }
    elif path.endswith("/overrides"):
        body = {"action": "disregarded", "reason": "matrix"}
    elif path.endswith("/consents"):
        body = {"purpose": "treatment", "data_categories": ["vitals"]}
    elif path == "/v1/patients/{patient_id:str}":
        body = {"site": "st-mary"}
    elif path.endswith("/twins"):
        body = {"model": VANCO, "purpose": "treatment"}
    elif path.endswith("/observations"):
        body = {"observations": COVARIATES[:1]}  # already stored: idempotent
    elif path.endswith("/forecasts"):
        body = {"dose_mg": 1000, "interval_h": 12, "n_doses": 2, "start": "2026-03-03T08:00:00Z"}
    elif path.endswith(("/recommendations", "/calibrations")):
        body = {} if path.endswith("/recommendations") else None
    elif path.endswith("/erase"):
        body = {"reason": "matrix"}
    elif path == "/fhir/RiskAssessment/$predict":
        body = risk_parameters(M, features)
    elif path == "/fhir":
        age = observation("age-fhir", "30525-0", "2026-03-01T06:00:00Z", 55, "a")
        body = bundle(patient(), age)
    elif path == DEVICE_BINDING and method == "POST":
        body = {"patient_id": "p-1", "twin_id": twin}
    elif path.endswith("/consent-gaps"):
        body = {"start": "2026-01-01T00:00:00Z", "resolution": "empty"}
    elif path.endswith("/moves"):
        body = {"reason": "matrix"}
    elif path == "/v1/cohorts" and method == "POST":
        body = MATRIX_COHORT
    elif path.endswith("/trials"):
        body = MATRIX_TRIAL
    elif method == "POST" and "/versions/" in path and not path.endswith("bias-audits"):
        body = {"comment": "matrix"}
    # ids are scoped per site: a caller bound to no site names the patient's
    named = ("/consents", "/observations", "/thread", "/erase")
    params = {"site": "st-mary"} if path.endswith(named) and role != "clinician" else None
    params = {"site": "st-mary"} if "/consents" in path and role != "clinician" else params
    if path in ("/fhir/Observation", "/fhir/MedicationRequest", "/fhir/Provenance"):
        params = {"patient": "p-1", "twin": twin}
        params.update({"site": "st-mary"} if role != "clinician" else {})
    elif path == "/fhir/AuditEvent":
        params = {"date": "ge2020-01-01T00:00:00Z"}
    return api.client.request(method, url, json=body, headers=headers, params=params)


MATRIX_COHORT = {"name": "matrix", "model": "vancomycin-auc", "source": "prior",
                 "prior": {"size": 40, "seed": 1}}  # fmt: skip
MATRIX_TRIAL = {
    "model": "vancomycin-auc",
    "arms": [{"name": "q12h", "regimen": {"dose_mg_per_kg": 15, "interval_h": 12, "n_doses": 6}}],
    "targets": [{"output": "auc24", "low": 400, "high": 600}],
}


def prepare_research(api: Any) -> tuple[str, str]:
    """A cohort and a finished trial job of the matrix's researcher ``u`` (no site): the
    ids the research routes name (the job, done, is neither cancelled nor resumed: 409)."""
    from governance.identity.principal import Principal

    cohort = api.service.cohorts.create(
        Principal("u", "researcher"), json.dumps(MATRIX_COHORT).encode()
    )
    job = api.service.trials.jobs.start(
        Principal("u", "researcher"), cohort.id, cohort.digest, "vancomycin-auc", "1",
        {**MATRIX_TRIAL, "members_digest": cohort.digest}, 1, (40, 0), {},
    )  # fmt: skip
    api.service.trials.jobs.run(job.id)
    api.service.trials.jobs.release(job.id, {"arms": []}, {})
    return cohort.id, job.id


def is_withheld(path: str, response: Any) -> bool:
    """A decision the release gate withheld: ``decision`` withheld on /v1, an
    OperationOutcome whose issues name the failing checks on /fhir."""
    body = response.json()
    if body.get("resourceType") == "OperationOutcome":
        checks = [i.get("details", {}).get("coding", [{}])[0].get("code") for i in body["issue"]]
        return response.status_code == 403 and all(checks) and bool(checks)
    return bool(body.get("decision") == "withheld")


LEAKS = ("contributions", "p-1", "base_value", '"prediction"', "probabilityDecimal",
         "urn:twinreg:fhir:contribution")  # fmt: skip


CELLS = [(r, "own") for r in ROLES] + [("clinician", "other")]


@pytest.mark.parametrize("role,site", CELLS)
def test_matrix(api: Any, demo_twins: list[Any], role: str, site: str) -> None:
    whas = twin_named(demo_twins, M)
    features = features_of(whas)
    consent = prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    prepare_patient(api, "p-1", TWIN_CATEGORIES)
    twin = prepare_twin(api)
    decision = api.client.post(
        "/v1/predictions",
        json={"model": M, "patient_id": "p-1", "purpose": "treatment", "features": features},
        headers=api.clinician,
    )
    released = decision.json()["audit_id"]
    bound = api.client.post(  # bound, so that unbinding (first: DELETE) then binding succeed
        "/v1/devices/cgm-matrix/binding", json={"patient_id": "p-1"}, headers=api.clinician
    )
    assert bound.status_code == 201, bound.text
    research = prepare_research(api)
    if role == "clinician":
        headers = api.headers("c", role, "st-mary" if site == "own" else "st-elsewhere")
    else:
        headers = api.headers("u", role)
    for method, path in _routes(api.client.app):
        if path.endswith(("/suspend", "/reinstate", "/approve", "/reject", "/withdraw", "/erase")):
            continue  # state-changing: their refusals are covered below without side effects
        allowed = role in ALLOWED[(method, path)] and not (
            role == "clinician" and site == "other" and path in SITE_BOUND
        )
        response = _request(
            api, method, path, headers, consent, features, released, role, twin, research
        )
        cell = f"{method} {path} as {role}@{site}: {response.status_code} {response.text[:200]}"
        assert response.status_code != 401, cell
        if allowed:
            assert (
                response.status_code < 400
                or (path in DECISIONS and is_withheld(path, response))
                or (  # authorised; the twin has no open consent gap starting then
                    path.endswith("/consent-gaps")
                    and response.status_code == 422
                    and response.json().get("field") == "start"
                )
                or (  # authorised; the twin is already on the approved version
                    path.endswith("/moves")
                    and response.status_code == 409
                    and "already on version" in response.json().get("detail", "")
                )
                or (  # authorised; the job is done: neither cancelled nor resumed
                    path.startswith(JOB)
                    and response.status_code == 409
                    and "is done: only a" in response.json().get("detail", "")
                )
            ), cell
        else:
            assert response.status_code in (403, 404, 409), cell
            if path in DECISIONS:
                assert is_withheld(path, response), cell
            for leak in LEAKS:
                assert leak not in response.text, cell


@pytest.mark.parametrize("role", ROLES)
def test_state_changing_refusals(api: Any, role: str) -> None:
    consent = prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    headers = api.headers("u", role, "st-elsewhere" if role == "clinician" else None)
    for action, roles in (
        ("suspend", {"ethics_board"}),
        ("approve", {"validator"}),
        ("reject", {"validator"}),
        ("reinstate", {"ethics_board"}),
    ):
        if role in roles:
            continue
        r = api.client.post(
            f"/v1/models/{M}/versions/1/{action}", json={"comment": "x"}, headers=headers
        )
        assert r.status_code == 403, (action, role, r.text)
    params = {"site": "st-mary"} if role != "clinician" else None
    r = api.client.post(
        f"/v1/patients/p-1/consents/{consent}/withdraw", headers=headers, params=params
    )
    if role == "admin":
        assert r.status_code == 200
    else:
        assert r.status_code in (403, 404), r.text
    r = api.client.post(
        "/v1/patients/p-1/erase", json={"reason": "x"}, headers=headers, params=params
    )
    if role == "admin":
        assert r.status_code == 200, r.text
    else:
        assert r.status_code in (403, 404), r.text
