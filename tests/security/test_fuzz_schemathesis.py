"""API fuzzing with schemathesis against the app's own OpenAPI schema.

Every operation of ``/schema/openapi.json`` is fuzzed through the real ASGI app with
positive (schema-valid) and negative (schema-violating) cases, as an authenticated
principal allowed to call it (chosen by path: :func:`_headers_for`), so the cases reach
the handlers instead of stopping at the guards.

Three modes per operation: *positive* and *negative* cases drawn by Hypothesis (schema-valid
and schema-violating), and schemathesis' deterministic *coverage* cases (boundary values,
each violation alone, a missing ``Authorization``, undocumented methods, wrong media types).

Checks, on every response (success or error) -- all of schemathesis' checks that apply to
one operation at a time:

- ``not_a_server_error``: no 5xx;
- ``status_code_conformance``: the status is one the operation documents;
- ``content_type_conformance``: the content type is the one documented for that status:
  ``application/problem+json`` for every error, ``application/json`` for a withheld
  prediction's 403;
- ``response_schema_conformance``: the body conforms to the documented schema (errors to
  ``ProblemDetails``);
- ``response_headers_conformance``: documented response headers are present and conform
  (the document declares none today, so this guards future ones);
- ``negative_data_rejection``: a schema-violating request is refused with a 4xx (e.g. a
  ``since`` that is not an RFC 3339 date-time);
- ``positive_data_acceptance``: a schema-valid request is accepted, or refused only with a
  status the operation's :data:`ACCEPTED` entry justifies;
- ``ignored_auth``: after each 2xx, the same request without a token and with a forged one
  gets 401 (the bearer scheme is declared; ``/health`` declares ``security: []``);
- ``missing_required_header``: a coverage case without ``Authorization`` gets 401;
- ``unsupported_method``: an undocumented method gets 405 with ``Allow``;
- ``allow_header_conformance``: ``OPTIONS`` lists exactly the documented methods;
- and, beyond what a schema can say, an error's ``status`` equals the HTTP status and its
  ``title`` and ``detail`` are not empty (:func:`_check_problem`).

Left off, as they need more than one operation or principal:

- ``use_after_free`` and ``ensure_resource_availability``: stateful, they follow links from
  a create to a read or delete; the document has no links, and nothing here is deleted;
- ``object_level_authorization``: needs a second identity's objects; cross-site access is
  checked by ``tests/security/test_authorization_matrix.py`` instead;
- ``max_response_time``: a wall-clock limit on a shared CI machine would be flaky; latency
  is measured by ``twinreg bench``, and each operation's fuzz is bounded by ``BUDGET_S``.

The schema is the app's own, untouched (``api/http/openapi.py``): request bodies say
``additionalProperties: false``, as the structs refuse unknown fields, so positive cases do
not carry random extra properties (``test_request_bodies_are_closed`` keeps it so).

Random names only meet 404s, so half of the positive cases are *anchored*: path parameters
and body fields take real values (a demo model and version, the prepared patient, its
consent, a released prediction's audit id, the site) and the features are a real patient's
row with a few values replaced by hostile ones (huge or tiny numbers, wrong types), so the
fuzz reaches the gate, the models and the explainers.

Positive and negative cases carry no generated ``Authorization``: the principal's token
is sent instead (a coverage case that breaks the header on purpose is sent as it is).

Each operation and mode is its own test with a fresh governance database, bounded by
``MAX_EXAMPLES`` (Hypothesis modes) and by ``BUDGET_S`` seconds of wall time;
``derandomize=True`` and the coverage cases make every CI run send the same requests.
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
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.overrides import Override

from tests.api.helpers import features_of, prepare_patient, twin_named

MAX_EXAMPLES = 15
#: Wall-time budget per operation and mode; past it, the remaining cases are not sent.
BUDGET_S = 20.0
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

#: ``positive_data_acceptance``: what a schema-valid request may answer, per operation,
#: besides 2xx. Each refusal needs what a schema cannot say (the server's state, a model's
#: own card, a relation between two values):
#:
#: - 404: a well-formed identifier that names nothing (model, version, patient, consent,
#:   decision);
#: - 409: the current state forbids it (a lifecycle transition from the wrong state, a
#:   consent already withdrawn, a decision that was not released, no dossier yet);
#: - 403: a withheld decision (consent, purpose, envelope: the gate's answer to valid data),
#:   or a patient of another site than the caller's;
#: - 422 on predictions and simulations: a model or version in the body that does not
#:   exist, the features against the model's own card (unknown, missing or out-of-range
#:   ones, an output of another kind), a purpose the model is not for; on the ethics
#:   report: ``until`` not after ``since``.
#: - 422 on the patient, consent, lifecycle and override operations: free-text identifiers
#:   and texts must be printable (Python's ``str.isprintable``, which no JSON Schema
#:   ``pattern`` states), and a site, comment or reason must not be blank -- a rule of
#:   ``api/http/schemas.py``'s request bodies that their schema does not state yet (``minLength``
#:   or a ``pattern`` there would narrow these to 404/409).
#:
#: Model names and versions in paths are documented with the pattern ``check_reference``
#: applies, so a schema-valid reference there is at worst unknown (404), never a 422. 401,
#: 429 and 5xx are never expected: the fuzz sends a valid token, stays under the rate limit,
#: and a 5xx is a bug.
ACCEPTED: dict[tuple[str, str], list[str]] = {
    ("GET", "/health"): [],
    ("POST", "/v1/predictions"): ["403", "422"],
    ("POST", "/v1/simulations"): ["403", "422"],
    ("GET", "/v1/patients/{patient_id}/consents"): ["404", "422"],
    ("POST", "/v1/patients/{patient_id}/consents"): ["404", "422"],
    ("PUT", "/v1/patients/{patient_id}"): ["403", "409", "422"],
    ("POST", "/v1/patients/{patient_id}/consents/{consent_id}/withdraw"): ["404", "409", "422"],
    ("POST", "/v1/models/{name}/versions/{version}/approve"): ["404", "409", "422"],
    ("POST", "/v1/models/{name}/versions/{version}/bias-audits"): ["404", "409"],
    ("POST", "/v1/models/{name}/versions/{version}/dossier"): ["404", "409"],
    ("GET", "/v1/models/{name}/versions/{version}/dossier"): ["404", "409"],
    ("GET", "/v1/models/{name}/versions/{version}/dossier/changes"): ["404", "409"],
    ("GET", "/v1/models"): [],
    ("GET", "/v1/models/{name}"): ["404"],
    ("POST", "/v1/models/{name}/versions/{version}/reinstate"): ["404", "409", "422"],
    ("POST", "/v1/models/{name}/versions/{version}/reject"): ["404", "409", "422"],
    ("POST", "/v1/models/{name}/versions/{version}/suspend"): ["404", "409", "422"],
    ("GET", "/v1/models/{name}/versions/{version}"): ["404"],
    ("GET", "/v1/audit/records"): [],
    ("GET", "/v1/audit/verify"): [],
    ("POST", "/v1/predictions/{audit_id}/overrides"): ["404", "409", "422"],
    ("GET", "/v1/reports/ethics"): ["422"],
}
#: Operations whose only justified 422 for schema-valid data is about one field: a
#: positive case answered 422 must name it (the report's ``until`` not after ``since``).
REFUSED_FIELDS: dict[tuple[str, str], str] = {("GET", "/v1/reports/ethics"): "until"}


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
    if path.endswith(("/suspend", "/reinstate")):
        return dict(api.ethics)  # the stop button and its undoing
    if path.startswith("/v1/models"):
        return dict(api.validator)  # approvals, bias audits, dossiers, and the model reads
    return dict(api.ethics)  # audit, reports, health


def _schema(api: Any, operation: tuple[str, str] | None = None, auth: bool = True) -> Any:
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


def _known(api: Any, demo_twins: list[Any]) -> dict[str, str]:
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


def _send(case: Any, method: str, path: str, headers: dict[str, str]) -> None:
    """Send ``case`` with ``headers`` and run every check on the response; a case whose
    headers break the schema on purpose (a missing or malformed ``Authorization``) is sent
    as it is, without the principal's token."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
        headers = {}
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)
    if response.status_code >= 400 and not _withheld(method, path, response.status_code):
        _check_problem(case, response)
    positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    if positive and response.status_code == 422 and (method, path) in REFUSED_FIELDS:
        # the one 422 a schema-valid request may meet here, and not another
        assert response.json().get("field") == REFUSED_FIELDS[(method, path)], response.text


MODES = ["positive", "negative", "coverage"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzz_operation(api: Any, demo_twins: list[Any], method: str, path: str, mode: str) -> None:
    known = _known(api, demo_twins)
    operation = _schema(api, (method, path), auth=mode == "coverage")[path][method]
    headers = _headers_for(api, method, path)
    deadline = time.monotonic() + BUDGET_S
    sent = 0

    if mode == "coverage":
        generator = CoverageGenerator(
            operation=operation,
            generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=operation.schema.config.generation_for(
                operation=operation, phase="coverage"
            ),
            auth_storage=None,
            override=Override(),
            feedback=FeedbackSources(),
        )
        for case in generator:
            if time.monotonic() > deadline:
                break
            sent += 1
            _send(case, method, path, headers)
        assert sent > 0
        return

    generation = GenerationMode(mode)

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=generation), data=st.data())
    def fuzz(case: Any, data: Any) -> None:
        nonlocal sent
        if time.monotonic() > deadline:
            return
        sent += 1
        if generation == GenerationMode.POSITIVE and data.draw(st.booleans()):
            _anchor(case, data, demo_twins, known)
        _send(case, method, path, headers)

    try:
        fuzz()
    except Unsatisfiable:
        # Nothing in this operation's schema can be violated (no body, no query, only
        # free-form string path parameters): there are no negative cases to send.
        definition = operation.definition.raw
        query = [p for p in definition.get("parameters", []) if p.get("in") == "query"]
        assert generation == GenerationMode.NEGATIVE and "requestBody" not in definition
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
