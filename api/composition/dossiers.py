"""Composition of a validation dossier: models, explain and governance for one version.

The evidence is computed on the version's stored evaluation set with the loaded model and
the very explainer that serves its predictions (:class:`api.composition.runtime.RegistryRuntime`);
governance judges and stores it (:class:`governance.validation.dossier_store.DossierStore`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from api.composition.runtime import RegistryRuntime, ServedTwin
from explain import TwinExplainer, build_explainer, check_explanations
from governance.clock import utcnow
from governance.errors import Conflict
from governance.identity.principal import Principal
from governance.lifecycle.versions import Lifecycle, VersionState
from governance.validation.change_control import change_control
from governance.validation.dossier import DossierEvidence
from governance.validation.dossier_limits import DossierLimits
from governance.validation.dossier_store import DossierCriteria, DossierView
from models.uncertainty.evidence import range_evidence
from models.validation import (
    BootstrapSettings,
    ValidationDataError,
    compare,
    validate,
    verify_mechanistic,
)
from models.validation.bootstrap import DEFAULT_SEED


def run_dossier(
    lifecycle: Lifecycle, runtime: RegistryRuntime, principal: Principal, state: VersionState
) -> tuple[DossierView, float]:
    """Compute, judge and store the dossier of ``state``; returns it and the seconds taken."""
    start = time.perf_counter()
    criteria: DossierCriteria = lifecycle.dossiers.criteria()
    evidence = dossier_evidence(lifecycle, runtime, state, criteria.limits)
    view = lifecycle.dossiers.record(principal, state, evidence, criteria)
    return view, time.perf_counter() - start


def dossier_evidence(
    lifecycle: Lifecycle, runtime: RegistryRuntime, state: VersionState, limits: DossierLimits
) -> DossierEvidence:
    served = _served(runtime, state)
    card, twin = state.card, served.twin
    settings = BootstrapSettings(resamples=limits.resamples, level=limits.level)
    try:
        validation = validate(card, twin.model, twin.evaluation, settings).to_dict()
    except ValidationDataError as exc:
        raise Conflict(
            f"cannot compute the dossier of {state.model} v{state.version}: {exc}"
        ) from exc
    validation["ranges"] = range_evidence(card, twin.model, twin.uncertainty, twin.evaluation)
    X = twin.evaluation.loc[:, list(served.feature_names)].to_numpy(dtype=np.float64)

    def rebuild() -> TwinExplainer:
        return build_explainer(
            card.kind, twin.model, served.feature_names, served.background, card.default_output
        )

    explanation = check_explanations(
        served.explainer,
        X,
        max_rows=limits.explanation_rows(card.kind.is_mechanistic),
        stability_rows=limits.stability_rows,
        seed=DEFAULT_SEED,
        rebuild=rebuild,
    ).to_dict()
    explanation["background"] = dict(served.background_info)
    verification = (
        verify_mechanistic(
            card.kind, twin.model, X, limits.max_verification_relative_error, DEFAULT_SEED
        ).to_dict()
        if card.kind.is_mechanistic
        else None
    )
    return DossierEvidence(
        validation=validation,
        explanation=explanation,
        verification=verification,
        bias_audit=_bias_audit(lifecycle, state),
        change_control=_change_control(lifecycle, runtime, state, validation, settings),
    )


def changes(lifecycle: Lifecycle, runtime: RegistryRuntime, state: VersionState) -> dict[str, Any]:
    """Change control of ``state`` against the approved version, computed now."""
    approved = lifecycle.approved_version(state.model)
    out: dict[str, Any] = {
        "model": state.model,
        "version": state.version,
        "approved_version": None if approved is None else approved.version,
    }
    if approved is None or approved.version == state.version:
        out["change_control"] = None
        out["detail"] = (
            f"no version of {state.model} is approved: nothing to compare with"
            if approved is None
            else f"{state.model} v{state.version} is the approved version itself"
        )
        return out
    limits = lifecycle.dossiers.criteria().limits
    settings = BootstrapSettings(resamples=limits.resamples, level=limits.level)
    twin = _served(runtime, state).twin
    validation = validate(state.card, twin.model, twin.evaluation, settings).to_dict()
    out["change_control"] = _change_control(lifecycle, runtime, state, validation, settings)
    return out


def _change_control(
    lifecycle: Lifecycle,
    runtime: RegistryRuntime,
    state: VersionState,
    validation: dict[str, Any],
    settings: BootstrapSettings,
) -> dict[str, Any] | None:
    approved = lifecycle.approved_version(state.model)
    if approved is None or approved.version == state.version:
        return None
    candidate = _served(runtime, state).twin
    baseline = _served(runtime, approved).twin
    paired: dict[str, dict[str, Any]] | None = None
    note = None
    try:
        paired = compare(
            state.card, candidate.model, approved.card, baseline.model, candidate.evaluation,
            settings,
        )  # fmt: skip
    except ValidationDataError as exc:
        note = f"no paired comparison: {exc}"
    approved_dossier = lifecycle.dossiers.latest(state.model, approved.version)
    return change_control(
        state.card,
        approved.card,
        approved.version,
        validation,
        paired,
        note,
        None if approved_dossier is None else approved_dossier.body.get("validation"),
    )


def _bias_audit(lifecycle: Lifecycle, state: VersionState) -> dict[str, Any] | None:
    audits = lifecycle.bias_audits(state.model, state.version)
    if not audits:
        return None
    latest = audits[-1]
    current, why = lifecycle.serving.audit_is_current(state.model, state.version, utcnow())
    return {
        "id": latest.id,
        "passed": latest.passed,
        "at": latest.to_dict()["at"],
        "policy_version": latest.policy_version,
        "current": current,
        "why": why,
    }


def _served(runtime: RegistryRuntime, state: VersionState) -> ServedTwin:
    served = runtime.load(state)
    if not isinstance(served, ServedTwin):  # pragma: no cover - the runtime's own type
        raise TypeError(f"unexpected runtime handle {type(served).__name__}")
    return served
