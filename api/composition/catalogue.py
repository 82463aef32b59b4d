"""Composition of the catalogue: the registered models and their versions, as governance
records them.

The listing is the lifecycle's (:class:`governance.lifecycle.versions.Lifecycle`), one entry a model
with its versions' statuses and the approved one; every read is allowed by the policy first.
"""

from __future__ import annotations

from typing import Any

from api.composition.validation import check_reference
from governance.errors import NotFound
from governance.identity.principal import Principal
from governance.lifecycle.versions import Lifecycle


def models(lifecycle: Lifecycle) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for v in lifecycle.versions():
        entry = out.setdefault(
            v.model, {"name": v.model, "kind": v.kind, "approved_version": None, "versions": []}
        )
        entry["versions"].append({"version": v.version, "status": v.status})
        entry["kind"] = v.kind
        if v.status == "approved":
            entry["approved_version"] = v.version
    return list(out.values())


def list_models(lifecycle: Lifecycle, principal: Principal) -> list[dict[str, Any]]:
    lifecycle.require(principal, "*", "read")
    return models(lifecycle)


def model_detail(lifecycle: Lifecycle, principal: Principal, model: str) -> dict[str, Any]:
    check_reference(model)
    lifecycle.require(principal, model, "read")
    found = [m for m in models(lifecycle) if m["name"] == model]
    if not found:
        raise NotFound(f"unknown model {model!r}; GET /v1/models lists the models")
    return found[0]


def version_detail(
    lifecycle: Lifecycle, principal: Principal, model: str, version: str
) -> dict[str, Any]:
    check_reference(model, version)
    lifecycle.require(principal, model, "read")
    v = lifecycle.version(model, version)
    return {
        "model": v.model,
        "version": v.version,
        "kind": v.kind,
        "status": v.status,
        "registrant": v.registrant,
        "registered_at": v.registered_at.isoformat(),
        "artifact_sha256": v.artifact_sha256,
        "evaluation_digest": v.evaluation_digest,
        "card": v.card.to_dict(),
        "environment": v.environment,
        "bias_audits": [a.to_dict() for a in lifecycle.bias_audits(model, version)],
        "history": lifecycle.history(model, version),
    }
