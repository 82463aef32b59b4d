"""The OpenAPI document and the HTTP answers it promises: the bearer scheme, date-time query
parameters, ``Allow`` on ``OPTIONS`` and 405; the docs page's vendored Swagger UI."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest


def _schema(api: Any) -> dict[str, Any]:
    response = api.client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    raw: dict[str, Any] = response.json()
    return raw


def test_bearer_scheme_is_declared_and_required_except_on_health(api: Any) -> None:
    raw = _schema(api)
    schemes = raw["components"]["securitySchemes"]
    assert schemes == {
        name: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": schemes[name]["description"],
        }
        for name in ("bearerToken", "cdsHooksJwt")  # twinreg's tokens; an EHR's (CDS Hooks)
    }
    assert raw["security"] == [{"bearerToken": []}]
    for path, ops in raw["paths"].items():
        for method, op in ops.items():
            if path in ("/health", "/cds-services"):
                assert op["security"] == [], (method, path)  # public: overrides the default
            elif path.startswith("/cds-services/"):
                assert op["security"] == [{"cdsHooksJwt": []}], (method, path)
            else:
                assert "security" not in op, (method, path)  # the document's requirement


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}])
def test_what_the_scheme_promises(api: Any, headers: dict[str, str]) -> None:
    response = api.client.get("/v1/models", headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == "Bearer"
    assert api.client.get("/health").status_code == 200


def test_date_time_parameters_are_documented_as_such(api: Any) -> None:
    raw = _schema(api)
    for path in ("/v1/reports/ethics", "/v1/audit/records"):
        params = {p["name"]: p for p in raw["paths"][path]["get"]["parameters"]}
        for name in ("since", "until"):
            schema = params[name]["schema"]
            assert schema["type"] == "string" and schema["format"] == "date-time", schema
            assert "oneOf" not in schema and params[name]["required"] is False
    formats = {p["name"]: p for p in raw["paths"]["/v1/reports/ethics"]["get"]["parameters"]}
    assert formats["format"]["schema"]["enum"] == ["json", "csv", "html"]


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/patients/p-1/consents", "GET, OPTIONS, POST"),
        ("/v1/models/whas500-mortality/versions/1/dossier", "GET, OPTIONS, POST"),
        ("/v1/reports/ethics", "GET, OPTIONS"),
    ],
)
def test_options_and_405_list_every_method(api: Any, path: str, methods: str) -> None:
    options = api.client.options(path)
    assert options.status_code == 204 and options.headers["allow"] == methods
    refused = api.client.request("PATCH", path, headers=api.ethics)
    assert refused.status_code == 405, refused.text
    assert sorted(refused.headers["allow"].split(", ")) == methods.split(", ")
    body = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert body["status"] == 405 and body["title"] == "Method not allowed"
    assert (
        body["detail"] == f"PATCH is not allowed here; this path answers {refused.headers['allow']}"
    )


SWAGGER_UI = Path(__file__).resolve().parents[3] / "api" / "http" / "static" / "swagger"


def test_the_vendored_swagger_ui_is_the_recorded_release_with_its_licence() -> None:
    """The files under api/http/static/swagger/ are swagger-ui-dist's, as SOURCE.md
    records them (version, checksums), with its LICENSE and NOTICE; Swagger UI 5 renders
    OpenAPI 3.1, 4 does not."""
    source = (SWAGGER_UI / "SOURCE.md").read_text(encoding="utf-8")
    recorded = dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", source, re.MULTILINE))
    present = {p.name for p in SWAGGER_UI.iterdir()} - {"SOURCE.md"}
    assert recorded.keys() == present
    assert {"LICENSE", "NOTICE"} <= present
    for name, digest in recorded.items():
        assert hashlib.sha256((SWAGGER_UI / name).read_bytes()).hexdigest() == digest, name
    version = re.search(r"^version: (\S+)$", source, re.MULTILINE)
    assert version is not None and version[1].startswith("5.")
    assert f'"{version[1]}"' in (SWAGGER_UI / "swagger-ui-bundle.js").read_text(encoding="utf-8")


def test_the_docs_page_takes_every_asset_from_this_server(api: Any) -> None:
    page = api.client.get("/schema")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert len(assets) == 4, assets  # script, preset, stylesheet, icon
    for asset in assets:
        assert asset.startswith("/static/swagger/"), asset
        served = api.client.get(asset)
        assert served.status_code == 200, asset
        assert served.content == (SWAGGER_UI / asset.rsplit("/", 1)[1]).read_bytes()
