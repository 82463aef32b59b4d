"""Synthetic dossier evidence for governance tests that need no trained model.

:func:`evidence_for` builds evidence shaped as the composition layer computes it
(``models.validation``, ``explain.check_explanations``) with values that clear the
repository's ``[dossier]`` limits; tests change one number to make one criterion fail.
:func:`record_passing_dossier` stores such a dossier so that a version can be approved.
"""

from __future__ import annotations

from typing import Any

from governance.identity.principal import Principal
from governance.lifecycle.versions import Lifecycle
from governance.validation.dossier import DossierEvidence
from governance.validation.dossier_store import DossierView
from models.card import TwinCard


def estimate(value: float, low: float, high: float) -> dict[str, Any]:
    return {"estimate": value, "low": low, "high": high, "level": 0.95, "resamples": 300}


def _metrics(family: str, group: bool) -> dict[str, Any]:
    if family == "classifier":
        if group:
            return {"auc": estimate(0.8, 0.7, 0.9)}
        return {
            "auc": estimate(0.85, 0.8, 0.9),
            "brier": estimate(0.15, 0.12, 0.18),
            "calibration_in_the_large": estimate(0.01, -0.04, 0.05),
            "calibration_slope": estimate(1.0, 0.8, 1.2),
        }
    if family == "survival":
        if group:
            return {"concordance": estimate(0.72, 0.65, 0.78)}
        return {
            "concordance": estimate(0.7, 0.66, 0.75),
            "calibration_difference": estimate(0.0, -0.05, 0.05),
        }
    if group:
        return {"mae": estimate(10.0, 9.0, 11.0)}
    return {
        "mae": estimate(10.0, 9.5, 10.5),
        "skill": estimate(0.4, 0.3, 0.5),
        "relative_bias": estimate(0.0, -0.02, 0.02),
    }


def family(card: TwinCard) -> str:
    kind = card.kind.prediction_kind
    return {"probability": "classifier", "risk_score": "survival"}.get(kind, "regression")


def evidence_for(card: TwinCard, change_control: dict[str, Any] | None = None) -> DossierEvidence:
    fam = family(card)
    validation = {
        "family": fam,
        "kind": card.kind.value,
        "overall": {"n": 200, "metrics": _metrics(fam, False)},
        "subgroups": {
            a: {g: {"n": 100, "metrics": _metrics(fam, True)} for g in ("0", "1")}
            for a in card.sensitive_attributes
        },
    }
    explanation = {
        "output_space": card.kind.output_space,
        "additivity": {"rows_checked": 200, "rows_total": 200, "failures": 0},
        "stability": {"rows": 10, "unstable": 0, "rebuilt_explainer": True},
    }
    verification = (
        {
            "kind": card.kind.value,
            "checks": [
                {"name": "code verification", "reference": "closed form", "max_relative_error": 0.0}
            ],
        }
        if card.kind.is_mechanistic
        else None
    )
    audit = {"id": "audit-1", "passed": True, "current": True, "why": "passing bias audit"}
    return DossierEvidence(validation, explanation, verification, audit, change_control)


def record_passing_dossier(
    lifecycle: Lifecycle, principal: Principal, model: str, version: str
) -> DossierView:
    """Store a passing dossier for ``model`` v``version`` (as a validator would)."""
    state = lifecycle.version(model, version)
    view = lifecycle.dossiers.record(
        principal, state, evidence_for(state.card), lifecycle.dossiers.criteria()
    )
    assert view.passed, view.body["reasons"]
    return view
