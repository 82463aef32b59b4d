"""The OpenAPI document says what the API really answers.

- Every error is an RFC 9457 problem document (``application/problem+json``,
  :class:`~api.http.schemas.ProblemDetails`): :func:`errors` documents the statuses an
  operation can answer, instead of Litestar's default error body.
- Request structs that forbid unknown fields (``forbid_unknown_fields=True``) are
  documented with ``additionalProperties: false`` (:class:`ClosedStructSchemaPlugin`).
- The ethics report's three formats are documented as three media types
  (:class:`EthicsReportOperation`).
- Every operation needs a bearer token (:data:`SECURITY_SCHEMES`, :data:`SECURITY`), except
  the public ones, which say so with an empty ``security`` (:class:`PublicOperation`).

``tests/security/test_fuzz_schemathesis.py`` holds the app to this document: status codes,
content types and bodies of every response are checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from api.http.problems import PROBLEM_JSON
from api.http.schemas import ProblemDetails, Reason

#: What each error status means here (the same for every operation that answers it).
ERROR_DESCRIPTIONS = {
    400: "Malformed request: not JSON, a wrong type, an unknown or missing field, or a query "
    "parameter out of range; `detail` and `field` say what to fix",
    401: "No bearer token, or one that is expired, not yet valid, forged, revoked or carries "
    "an unknown role (the refusal is audited)",
    403: "The caller's role or site may not do this (the refusal is audited: `audit_id`)",
    404: "No such model, version, patient, consent or decision (at the caller's site; the "
    "refusal is audited: `audit_id`)",
    409: "The current state forbids it (a lifecycle transition, a decision that was not "
    "released, an artifact that does not match its hash; the refusal is audited: `audit_id`)",
    413: "The body is larger than the configured maximum (TWINREG_MAX_BODY_BYTES)",
    422: "Well-formed but invalid (unknown model, feature or purpose, a value out of range); "
    "`field` names what to fix, `audit_id` the audit record of a refused prediction",
    429: "Too many requests from this principal in the current minute, too many refused "
    "credentials from this address, or this principal's expensive work for the minute is "
    "spent (`Retry-After` says when to try again)",
    500: "Unexpected error; nothing was released",
    503: "Policies, audit log, governance store or registry unavailable, or the queue of "
    "expensive requests is full (`Retry-After`); nothing was released",
}
#: Every authenticated operation can answer these.
AUTHENTICATED = (401, 429, 500, 503)
#: ``schema_extra`` of a date-time query parameter, taken as a string and parsed strictly
#: (:func:`api.composition.validation.parse_date_time`): Litestar's own ``datetime``
#: parsing also reads a number (``?since=0.63``) or a local time, which the schema does not allow.
DATE_TIME_QUERY: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
    "oneOf": None,
    "examples": ["2026-01-31T08:00:00Z"],
}


#: The bearer token of every authenticated operation (``twinreg token`` issues one; see
#: :mod:`api.http.auth`): a signed JWT naming the user, role and site.
BEARER = "bearerToken"
#: An EHR's own JWT on the CDS Hooks services (:mod:`api.cds`).
EHR_JWT = "cdsHooksJwt"
SECURITY_SCHEMES = Components(
    security_schemes={
        BEARER: SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="JWT",
            description="`Authorization: Bearer <token>`, a token from `twinreg token`; a "
            "missing, expired, forged, revoked or unknown-role token is a 401 problem",
        ),
        EHR_JWT: SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="JWT",
            description="CDS Hooks 2.0: `Authorization: Bearer <JWT>` signed by an allow-listed "
            "EHR (ES384 or RS384, iss, kid, aud = the URL called, exp at most 5 minutes ahead, "
            "a fresh jti); a refused JWT is a 401 problem naming its audit record",
        ),
    }
)
#: The document-wide requirement: every operation needs the bearer token unless it says
#: otherwise (:class:`PublicOperation`).
SECURITY: list[SecurityRequirement] = [{BEARER: []}]


def problem_response(status: int, description: str | None = None) -> ResponseSpec:
    return ResponseSpec(
        data_container=ProblemDetails,
        media_type=PROBLEM_JSON,
        description=description or ERROR_DESCRIPTIONS[status],
        generate_examples=False,
    )


def errors(*statuses: int, public: bool = False) -> dict[int, ResponseSpec]:
    """``responses=`` for a route: problem documents for ``statuses`` and, unless
    ``public``, for the statuses of every authenticated operation."""
    wanted = set(statuses) | (set() if public else set(AUTHENTICATED))
    return {status: problem_response(status) for status in sorted(wanted)}


def json_response(data_container: Any, description: str) -> ResponseSpec:
    """A documented JSON body, where the handler's return annotation is wider (a
    ``Response`` that may carry a release or a refusal)."""
    return ResponseSpec(
        data_container=data_container, description=description, generate_examples=False
    )


class ScenarioOut(msgspec.Struct, omit_defaults=True):
    """One scenario's decision: released with its results, or withheld with its reasons."""

    name: str
    decision: Literal["released", "withheld"]
    audit_id: str
    prediction: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    explanation: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    warnings: list[str] | msgspec.UnsetType = msgspec.UNSET
    reasons: list[Reason] | msgspec.UnsetType = msgspec.UNSET


class SimulationOut(msgspec.Struct):
    """``POST /v1/simulations`` 200: at least one scenario released (``partially_released``
    when others were withheld); each scenario with its own decision (documentation: the
    handler builds it as a dict)."""

    decision: Literal["released", "partially_released"]
    model: str
    model_version: str
    scenarios: list[ScenarioOut]


class SimulationWithheldOut(msgspec.Struct):
    """``POST /v1/simulations`` 403: every scenario withheld; the first one's reasons on
    top, and each scenario's decision and reasons (nothing of a withheld result)."""

    decision: Literal["withheld"]
    audit_id: str
    reasons: list[Reason]
    scenarios: list[ScenarioOut]


class ClosedStructSchemaPlugin(OpenAPISchemaPlugin):
    """msgspec structs with ``forbid_unknown_fields=True`` get ``additionalProperties:
    false``: a client learns from the schema that unknown fields are refused (400)."""

    _structs = StructSchemaPlugin()

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        if not self._structs.is_plugin_supported_field(field_definition):
            return False
        config = getattr(field_definition.type_, "__struct_config__", None)
        return bool(getattr(config, "forbid_unknown_fields", False))

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = self._structs.to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


@dataclass
class EthicsReportOperation(Operation):
    """``GET /v1/reports/ethics``: one report, in the format the query asks for."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if ok is None or isinstance(ok, dict) or not hasattr(ok, "content"):
            return
        text = Schema(type=OpenAPIType.STRING)
        ok.content = {
            **(ok.content or {}),
            "text/csv": OpenAPIMediaType(schema=text),
            "text/html": OpenAPIMediaType(schema=text),
        }


@dataclass
class EhrOperation(Operation):
    """A CDS Hooks operation: the EHR's JWT, not a twinreg token."""

    def __post_init__(self) -> None:
        self.security = [{EHR_JWT: []}]


@dataclass
class PublicOperation(Operation):
    """An operation without authentication (``GET /health``): ``security: []`` overrides the
    document-wide bearer requirement (an omitted ``security`` would inherit it)."""

    def __post_init__(self) -> None:
        self.security = []
