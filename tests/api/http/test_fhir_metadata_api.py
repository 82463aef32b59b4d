"""GET /fhir/metadata: a CapabilityStatement that validates and lists exactly the /fhir
routes the app has."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement


def declared_routes(statement: CapabilityStatement) -> set[tuple[str, str]]:
    routes = {("GET", "/fhir/metadata")}
    for rest in statement.rest or []:
        if any(i.code == "transaction" for i in rest.interaction or []):
            routes.add(("POST", "/fhir"))
        for resource in rest.resource or []:
            for interaction in resource.interaction or []:
                assert interaction.code == "search-type", interaction.code
                routes.add(("GET", f"/fhir/{resource.type}"))
            for operation in resource.operation or []:
                routes.add(("POST", f"/fhir/{resource.type}/${operation.name}"))
    return routes


def app_routes(api: Any) -> set[tuple[str, str]]:
    out = set()
    for route in api.client.app.routes:
        if route.path == "/fhir" or route.path.startswith("/fhir/"):
            out |= {(m, route.path) for m in route.methods if m not in ("OPTIONS", "HEAD")}
    return out


def test_the_statement_validates_and_lists_exactly_the_routes(api: Any) -> None:
    r = api.client.get("/fhir/metadata", headers=api.ethics)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    statement = CapabilityStatement.model_validate(r.json())
    assert statement.fhirVersion == "4.0.1" and statement.kind == "instance"
    assert declared_routes(statement) == app_routes(api)


def test_the_statement_needs_a_token_and_errors_are_operation_outcomes(api: Any) -> None:
    r = api.client.get("/fhir/metadata")
    assert r.status_code == 401, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    assert r.json()["issue"][0]["code"] == "login"
    r = api.client.get("/fhir/Nothing", headers=api.ethics)
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
