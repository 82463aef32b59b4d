"""Request and response bodies of the public API (msgspec structs).

Request structs forbid unknown fields, so server-owned fields (status, approved_by,
audit ids) can never be assigned by a client.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec


class PredictionIn(msgspec.Struct, forbid_unknown_fields=True):
    model: str
    patient_id: str
    purpose: str
    features: dict[str, Any]
    version: str | None = None
    plot: Literal["svg"] | None = None
    #: Mechanistic twins: which named output to predict, and whether to add the curve.
    output: str | None = None
    trajectory: bool = False


class Reason(msgspec.Struct):
    check: str
    detail: str


class Explanation(msgspec.Struct, omit_defaults=True):
    output_space: str
    base_value: float
    output_value: float
    contributions: dict[str, float]
    plot_svg: str | None = None


class PredictionOut(msgspec.Struct):
    decision: Literal["released"]
    audit_id: str
    model: str
    model_version: str
    prediction: dict[str, Any]
    explanation: Explanation
    warnings: list[str]


class WithheldOut(msgspec.Struct):
    decision: Literal["withheld"]
    audit_id: str
    reasons: list[Reason]


class PatientIn(msgspec.Struct, forbid_unknown_fields=True):
    site: str


class PatientOut(msgspec.Struct):
    patient_id: str
    site: str
    created: bool


class ConsentIn(msgspec.Struct, forbid_unknown_fields=True):
    purpose: str
    data_categories: list[str]
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class ConsentOut(msgspec.Struct):
    id: str
    purpose: str
    data_categories: list[str]
    valid_from: str | None
    valid_until: str | None
    granted_at: str
    granted_by: str
    withdrawn_at: str | None
    withdrawn_by: str | None
    status: str


class CommentIn(msgspec.Struct, forbid_unknown_fields=True):
    comment: str


class TransitionOut(msgspec.Struct):
    model: str
    version: str
    status: str


class ProblemDetails(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details (``application/problem+json``): the body of every error.

    ``status`` repeats the HTTP status; ``detail`` says what to fix. No ``instance``: the
    path would echo identifiers into a refusal. Extension members: ``field`` names the
    input to fix, ``audit_id`` the audit record of the refusal (a refused prediction, and
    every 403, 404 and 409), ``checks`` (``GET /health``) what is down.
    """

    title: str
    status: int
    detail: str
    type: str = "about:blank"
    #: Absent rather than null when not sent.
    field: str | msgspec.UnsetType = msgspec.UNSET
    audit_id: str | msgspec.UnsetType = msgspec.UNSET
    checks: dict[str, str] | msgspec.UnsetType = msgspec.UNSET


class OverrideIn(msgspec.Struct, forbid_unknown_fields=True):
    action: Literal["disregarded", "overridden", "accepted"]
    #: Required to disregard or override; optional to accept.
    reason: str = ""


class ScenarioIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    #: Regimen inputs that differ from the patient's base features (e.g. dose, interval).
    features: dict[str, Any]


class SimulationIn(msgspec.Struct, forbid_unknown_fields=True):
    model: str
    patient_id: str
    purpose: str
    features: dict[str, Any]
    scenarios: list[ScenarioIn]
    version: str | None = None
    output: str | None = None
