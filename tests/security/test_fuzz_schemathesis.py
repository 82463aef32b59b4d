"""API fuzzing with schemathesis against the app's own OpenAPI schema.

Every operation of ``/schema/openapi.json`` is fuzzed through the real ASGI app with
positive (schema-valid) and negative (schema-violating) cases, as an authenticated
principal allowed to call it (chosen by path: ``fuzz_operations.headers_for``), so the
cases reach the handlers instead of stopping at the guards. The operations and what each
may answer are in ``fuzz_operations.py``; the cases, their anchoring and the checks run on
each response in ``fuzz_cases.py``.

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
  status the operation's ``fuzz_operations.ACCEPTED`` entry justifies;
- ``ignored_auth``: after each 2xx, the same request without a token and with a forged one
  gets 401 (the bearer scheme is declared; ``/health`` declares ``security: []``);
- ``missing_required_header``: a coverage case without ``Authorization`` gets 401;
- ``unsupported_method``: an undocumented method gets 405 with ``Allow``;
- ``allow_header_conformance``: ``OPTIONS`` lists exactly the documented methods;
- and, beyond what a schema can say, an error's ``status`` equals the HTTP status and its
  ``title`` and ``detail`` are not empty (``fuzz_cases.check_problem``).

Left off, as they need more than one operation or principal:

- ``use_after_free`` and ``ensure_resource_availability``: stateful, they follow links from
  a create to a read or delete; the document has no links, and nothing here is deleted;
- ``object_level_authorization``: needs a second identity's objects; cross-site access is
  checked by ``tests/security/test_authorization_matrix.py`` instead;
- ``max_response_time``: a wall-clock limit on a shared CI machine would be flaky; latency
  is measured by ``twinreg bench``, and each operation's fuzz is bounded by ``BUDGET_S``.

The schema is the app's own, untouched (``api/http/openapi.py``): request bodies say
``additionalProperties: false``, as the structs refuse unknown fields, so positive cases do
not carry random extra properties (``test_fuzz_document.py`` keeps it so).

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

import dataclasses
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.overrides import Override

from api.composition.settings import Settings
from tests.security.fuzz_cases import anchor, known_state, schema_for, send
from tests.security.fuzz_operations import NOT_FUZZED, OPERATIONS, headers_for

MAX_EXAMPLES = 15


@pytest.fixture()
def settings(settings: Settings) -> Settings:
    """The fuzz checks every answer against the schema, not the flood limit: schemathesis'
    unauthenticated cases (its ``ignored_auth`` check, 401/403 expected) may pass the
    per-address limit of refused credentials (tests/api/http/test_refusal_limit.py)."""
    return dataclasses.replace(settings, unauthenticated_limit_per_minute=100_000)


#: Wall-time budget per operation and mode; past it, the remaining cases are not sent.
BUDGET_S = 20.0


def test_every_operation_is_fuzzed(api: Any) -> None:
    schema = schema_for(api)
    found = {(op.method.upper(), op.path) for op in (r.ok() for r in schema.get_all_operations())}
    listed = set(OPERATIONS) | set(NOT_FUZZED)
    assert found == listed, f"not fuzzed: {sorted(found - listed)}, stale: {sorted(listed - found)}"


MODES = ["positive", "negative", "coverage"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzz_operation(api: Any, demo_twins: list[Any], method: str, path: str, mode: str) -> None:
    known = known_state(api, demo_twins)
    operation = schema_for(api, (method, path), auth=mode == "coverage")[path][method]
    headers = headers_for(api, method, path)
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
            send(case, method, path, headers)
        assert sent > 0
        return

    generation = GenerationMode(mode)

    @examples(
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
            anchor(case, data, demo_twins, known)
        send(case, method, path, headers)

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
        headers = headers_for(api, method, path)
        for value in EXTREME_INTEGERS:
            r = api.client.request(method, path, params={name: str(value)}, headers=headers)
            if r.status_code >= 500:
                failures.append(f"{method} {path}?{name}={value} -> {r.status_code} {r.text}")
    assert not failures, "\n".join(failures)
