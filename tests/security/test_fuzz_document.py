"""The document the fuzz holds the app to (``test_fuzz_schemathesis.py``): request bodies
are closed, as the structs are, so positive cases carry no random extra properties; and
every error is documented as a problem document.
"""

from __future__ import annotations

from typing import Any

from tests.security.fuzz_cases import PROBLEM_JSON
from tests.security.fuzz_operations import withheld


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
            if path not in ("/health", "/cds-services"):  # public: health, CDS discovery
                assert {401, 429, 500, 503} <= statuses, (method, path, statuses)
            for status in statuses:
                if withheld(method.upper(), path, status):
                    continue
                content = op["responses"][str(status)]["content"]
                assert content == {PROBLEM_JSON: problem}, (method, path, status, content)
