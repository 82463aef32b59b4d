"""GET /fhir/metadata: a CapabilityStatement that validates and lists exactly the /fhir
routes the app has; public (no token), rate-limited per address like every unauthenticated
request; every other /fhir route needs a token."""

from __future__ import annotations

import dataclasses
from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from litestar.testing import TestClient

from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.http.app import create_app


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


def test_the_statement_is_public_and_the_rest_needs_a_token(api: Any) -> None:
    r = api.client.get("/fhir/metadata")
    assert r.status_code == 200, r.text
    assert CapabilityStatement.model_validate(r.json()).fhirVersion == "4.0.1"
    before = api.service.audit.count()
    for method, path in app_routes(api) - {("GET", "/fhir/metadata")}:
        r = api.client.request(method, path)
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["resourceType"] == "OperationOutcome"
        assert r.json()["issue"][0]["code"] == "login"
    assert api.service.audit.count() > before  # refused credentials are audited
    r = api.client.get("/fhir/Nothing", headers=api.ethics)
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"


def test_unauthenticated_callers_of_the_statement_are_rate_limited(settings: Settings) -> None:
    service = TwinregService(dataclasses.replace(settings, rate_limit_per_minute=3))
    with TestClient(app=create_app(service=service)) as client:
        codes = [client.get("/fhir/metadata").status_code for _ in range(4)]
        assert codes == [200] * 3 + [429]
        r = client.get("/fhir/metadata")
        assert r.status_code == 429 and r.json()["issue"][0]["code"] == "throttled"
    service.engine.dispose()
