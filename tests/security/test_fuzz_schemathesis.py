"""API fuzzing with schemathesis against the app's own OpenAPI schema.

Every operation of ``/schema/openapi.json`` is fuzzed through the real ASGI app with
positive (schema-valid) and negative (schema-violating) cases, as an authenticated
principal allowed to call it (chosen by path: :func:`_headers_for`), so the cases reach
the handlers instead of stopping at the guards.

Checks, on every response (success or error):

- no 5xx (schemathesis ``not_a_server_error``);
- the status code is one the operation documents (``status_code_conformance``);
- the content type is one documented for that status (``content_type_conformance``):
  ``application/problem+json`` for every error, ``application/json`` for a withheld
  prediction's 403;
- the body conforms to the documented schema (``response_schema_conformance``): errors to
  ``ProblemDetails``;
- and, beyond what a schema can say, an error's ``status`` equals the HTTP status and its
  ``title`` and ``detail`` are not empty (:func:`_check_problem`).

The schema is the app's own, untouched (``api/openapi.py``): request bodies say
``additionalProperties: false``, as the structs refuse unknown fields, so positive cases do
not carry random extra properties (``test_request_bodies_are_closed`` keeps it so).

Random names only meet 404s, so half of the positive cases are *anchored*: path parameters
and body fields take real values (a demo model and version, the prepared patient, its
consent, a released prediction's audit id, the site) and the features are a real patient's
row with a few values replaced by hostile ones (huge or tiny numbers, wrong types), so the
fuzz reaches the gate, the models and the explainers.

Each operation and mode is its own test with a fresh governance database, bounded by
``MAX_EXAMPLES`` and by ``BUDGET_S`` seconds of wall time; ``derandomize=True`` makes
every CI run fuzz the same cases.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.helpers import features_of, prepare_patient, twin_named

MAX_EXAMPLES = 15
#: Wall-time budget per operation and mode; past it, the remaining cases are not sent.
BUDGET_S = 20.0
#: ``negative_data_rejection`` stays off: Litestar reads a number where the schema says
#: ``date-time`` (``?since=0.63`` is 1970-01-01T00:00:00.63Z), a leniency the schema does
#: not describe; the negative cases are still checked for status, type and body.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PROBLEM_JSON = "application/problem+json"

#: Every operation of the schema. A new endpoint fails ``test_every_operation_is_fuzzed``
#: until it is listed here (and so fuzzed).
OPERATIONS = [
    ("GET", "/health"),
    ("POST", "/v1/predictions"),
    ("POST", "/v1/simulations"),
    ("GET", "/v1/patients/{patient_id}/consents"),
    ("POST", "/v1/patients/{patient_id}/consents"),
    ("PUT", "/v1/patients/{patient_id}"),
    ("POST", "/v1/patients/{patient_id}/consents/{consent_id}/withdraw"),
    ("POST", "/v1/models/{name}/versions/{version}/approve"),
    ("POST", "/v1/models/{name}/versions/{version}/bias-audits"),
    ("POST", "/v1/models/{name}/versions/{version}/dossier"),
    ("GET", "/v1/models/{name}/versions/{version}/dossier"),
    ("GET", "/v1/models/{name}/versions/{version}/dossier/changes"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/{name}"),
    ("POST", "/v1/models/{name}/versions/{version}/reinstate"),
    ("POST", "/v1/models/{name}/versions/{version}/reject"),
    ("POST", "/v1/models/{name}/versions/{version}/suspend"),
    ("GET", "/v1/models/{name}/versions/{version}"),
    ("GET", "/v1/audit/records"),
    ("GET", "/v1/audit/verify"),
    ("POST", "/v1/predictions/{audit_id}/overrides"),
    ("GET", "/v1/reports/ethics"),
]


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


def _anchor(case: Any, data: Any, twins: list[Any], known: dict[str, str]) -> None:
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


def _headers_for(api: Any, method: str, path: str) -> dict[str, str]:
    """The principal allowed to call ``method path`` (so the fuzz reaches the handler)."""
    if path.startswith(("/v1/patients", "/v1/predictions", "/v1/simulations")):
        return dict(api.clinician)
    if path.endswith(("/approve", "/reject", "/bias-audits")) or path.startswith("/v1/models"):
        return dict(api.validator)  # approvals, bias audits, and the model reads
    return dict(api.ethics)  # suspend, reinstate, audit, reports, health


def _schema(api: Any) -> Any:
    response = api.client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    schema = schemathesis.openapi.from_dict(response.json())
    schema.app = api.client.app  # requests go through the ASGI app in-process
    return schema


#: A withheld decision is a 403 with the decision's JSON body (its reasons and audit id),
#: not a problem document.
WITHHOLDING = {("POST", "/v1/predictions"), ("POST", "/v1/simulations")}


def _withheld(method: str, path: str, status: int) -> bool:
    return status == 403 and (method, path) in WITHHOLDING


def _check_problem(case: Any, response: Any) -> None:
    where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.startswith(PROBLEM_JSON), where
    body = response.json()
    assert body.get("status") == response.status_code, where
    assert isinstance(body.get("title"), str) and body["title"], where
    assert isinstance(body.get("detail"), str) and body["detail"], where


def test_request_bodies_are_closed(api: Any) -> None:
    """Every request body component (and every component inside one) refuses unknown
    properties, as the structs do."""
    raw = api.client.get("/schema/openapi.json").json()
    components = raw["components"]["schemas"]

    def refs(node: Any) -> set[str]:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            own = {ref.rsplit("/", 1)[1]} if ref.startswith("#/components/schemas/") else set()
            return own.union(*(refs(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(refs(v) for v in node))
        return set()

    todo = {
        name
        for ops in raw["paths"].values()
        for op in ops.values()
        for name in refs(op.get("requestBody", {}))
    }
    assert todo, "no request body found: update this test"
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        seen.add(name)
        assert components[name].get("additionalProperties") is False, name
        todo |= refs(components[name]) - seen


def test_every_error_is_documented_as_a_problem(api: Any) -> None:
    """Every operation documents its errors as ``application/problem+json``
    ``ProblemDetails`` (a withheld decision's 403 excepted), and every authenticated one
    at least 401, 429, 500 and 503."""
    raw = api.client.get("/schema/openapi.json").json()
    problem = {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
    for path, ops in raw["paths"].items():
        for method, op in ops.items():
            statuses = {int(s) for s in op["responses"] if int(s) >= 400}
            if path != "/health":
                assert {401, 429, 500, 503} <= statuses, (method, path, statuses)
            for status in statuses:
                if _withheld(method.upper(), path, status):
                    continue
                content = op["responses"][str(status)]["content"]
                assert content == {PROBLEM_JSON: problem}, (method, path, status, content)


def test_every_operation_is_fuzzed(api: Any) -> None:
    schema = _schema(api)
    found = {(op.method.upper(), op.path) for op in (r.ok() for r in schema.get_all_operations())}
    assert found == set(OPERATIONS), (
        f"not fuzzed: {sorted(found - set(OPERATIONS))}, stale: {sorted(set(OPERATIONS) - found)}"
    )


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzz_operation(
    api: Any, demo_twins: list[Any], method: str, path: str, mode: GenerationMode
) -> None:
    # Real state for anchored cases to meet: a patient, its consent, a released prediction.
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
    known = {
        "patient_id": PATIENT,
        "consent_id": consent_id,
        "audit_id": released.json()["audit_id"],
        "site": "st-mary",
    }
    operation = _schema(api)[path][method]
    headers = _headers_for(api, method, path)
    deadline = time.monotonic() + BUDGET_S
    sent = 0

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def fuzz(case: Any, data: Any) -> None:
        nonlocal sent
        if time.monotonic() > deadline:
            return
        sent += 1
        if mode == GenerationMode.POSITIVE and data.draw(st.booleans()):
            _anchor(case, data, demo_twins, known)
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        if response.status_code >= 400 and not _withheld(method, path, response.status_code):
            _check_problem(case, response)

    try:
        fuzz()
    except Unsatisfiable:
        # Nothing in this operation's schema can be violated (no body, no query, only
        # free-form string path parameters): there are no negative cases to send.
        definition = operation.definition.raw
        query = [p for p in definition.get("parameters", []) if p.get("in") == "query"]
        assert mode == GenerationMode.NEGATIVE and "requestBody" not in definition
        assert not query
        return
    assert sent > 0


#: Integers at and past the 64-bit limits of the databases (SQLite INTEGER, PostgreSQL
#: BIGINT), and far past them: the random fuzz only sometimes draws them.
EXTREME_INTEGERS = [2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30, -1]


def _integer_query_parameters(api: Any) -> list[tuple[str, str, str]]:
    raw = api.client.get("/schema/openapi.json").json()
    out = []
    for path, ops in raw["paths"].items():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                schema = param.get("schema", {})
                kinds = [schema.get("type")] + [s.get("type") for s in schema.get("oneOf", [])]
                if param["in"] == "query" and "integer" in kinds:
                    out.append((method.upper(), path, param["name"]))
    return out


def test_extreme_integer_query_parameters_are_client_errors(api: Any) -> None:
    params = _integer_query_parameters(api)
    assert params, "no integer query parameter found: update this test"
    failures = []
    for method, path, name in params:
        headers = _headers_for(api, method, path)
        for value in EXTREME_INTEGERS:
            r = api.client.request(method, path, params={name: str(value)}, headers=headers)
            if r.status_code >= 500:
                failures.append(f"{method} {path}?{name}={value} -> {r.status_code} {r.text}")
    assert not failures, "\n".join(failures)
