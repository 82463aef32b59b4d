"""The fuzz's cases and how each is sent: the app's schema configured for one operation,
anchored cases (real identifiers and a real patient's features with a few hostile
values), the real state they meet, and every check run on each response.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from schemathesis.config import PositiveDataAcceptanceConfig
from schemathesis.core.parameters import ParameterLocation

from tests.api.helpers import features_of, prepare_patient, twin_named
from tests.security.fuzz_operations import (
    ACCEPTED,
    CALLER_SITE,
    REFUSED_FIELDS,
    SITE_SCOPED,
    withheld,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    ignored_auth,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
]
PROBLEM_JSON = "application/problem+json"


PATIENT = "p-1"
CATEGORIES = ["demographics", "vitals", "history"]
#: Replacement feature values: out of range, wrong type, or numerically hostile.
HOSTILE = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, 2**53 + 1]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    st.lists(st.floats(allow_nan=False), max_size=2),
)


def _features(data: Any, twin: Any) -> dict[str, Any]:
    features: dict[str, Any] = features_of(twin, data.draw(st.integers(0, 5)))
    names = sorted(features)
    for name in data.draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
        features[name] = data.draw(HOSTILE)
    return features


def anchor(case: Any, data: Any, twins: list[Any], known: dict[str, str]) -> None:
    """Give ``case`` real identifiers and a perturbed real feature row (in place)."""
    twin = data.draw(st.sampled_from(twins))
    params = case.path_parameters or {}
    for name in list(params):
        if name == "name":
            params[name] = twin.name
        elif name == "version":
            params[name] = "1"
        elif name in known:
            params[name] = known[name]
    query = case.query or {}
    if "site" in query:  # the patient's site: the caller's own, where the patient is
        query["site"] = known["site"]
    body = case.body
    if not isinstance(body, dict):
        return
    real: dict[str, Any] = {
        "model": twin.name,
        "patient_id": PATIENT,
        "purpose": "treatment",
        "site": known["site"],
        "data_categories": CATEGORIES,
        "version": data.draw(st.sampled_from([None, "1"])),
    }
    for key in list(body):
        if key in real:
            body[key] = real[key]
        elif key == "features":
            body[key] = _features(data, twin)
        elif key == "scenarios" and isinstance(body[key], list):
            body[key] = [
                {"name": f"s{i}", "features": _features(data, twin)}
                for i in range(data.draw(st.integers(1, 3)))
            ]


def schema_for(api: Any, operation: tuple[str, str] | None = None, auth: bool = True) -> Any:
    """The app's schema, configured for ``operation``; without ``auth``, cases carry no
    generated ``Authorization`` (the principal's token is sent instead)."""
    response = api.client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    schema = schemathesis.openapi.from_dict(response.json())
    schema.app = api.client.app  # requests go through the ASGI app in-process
    schema.config.generation.update(with_security_parameters=auth)
    if operation is not None:
        schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
            expected_statuses=["2xx", *ACCEPTED[operation]]
        )
    return schema


def check_problem(case: Any, response: Any) -> None:
    where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.startswith(PROBLEM_JSON), where
    body = response.json()
    assert body.get("status") == response.status_code, where
    assert isinstance(body.get("title"), str) and body["title"], where
    assert isinstance(body.get("detail"), str) and body["detail"], where


def known_state(api: Any, demo_twins: list[Any]) -> dict[str, str]:
    """Real state for anchored cases to meet: a patient, its consent, a released prediction."""
    consent_id = prepare_patient(api, PATIENT, CATEGORIES)
    twin = twin_named(demo_twins, "whas500-mortality")
    released = api.client.post(
        "/v1/predictions",
        json={
            "model": twin.name,
            "patient_id": PATIENT,
            "purpose": "treatment",
            "features": features_of(twin),
        },
        headers=api.clinician,
    )
    assert released.status_code == 200, released.text
    return {
        "patient_id": PATIENT,
        "consent_id": consent_id,
        "audit_id": released.json()["audit_id"],
        "site": "st-mary",
    }


def send(case: Any, method: str, path: str, headers: dict[str, str]) -> None:
    """Send ``case`` with ``headers`` and run every check on the response; a case whose
    headers break the schema on purpose (a missing or malformed ``Authorization``) is sent
    as it is, without the principal's token."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
        headers = {}
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)
    if response.status_code >= 400 and not withheld(method, path, response.status_code):
        check_problem(case, response)
    positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    if positive and response.status_code == 422 and (method, path) in REFUSED_FIELDS:
        # the one 422 a schema-valid request may meet here, and not another
        assert response.json().get("field") == REFUSED_FIELDS[(method, path)], response.text
    if positive and response.status_code == 403 and (method, path) in SITE_SCOPED:
        # refused for the site it names, never for the patient id (ids are scoped per site)
        named = (case.query or {}).get("site")
        assert named is not None and named != CALLER_SITE, response.text
