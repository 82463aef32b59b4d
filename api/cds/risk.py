"""The ``risk`` service (``patient-view``): the configured statistical twin's explained
prediction for the patient, as ``POST /v1/predictions`` makes it (the same service call,
the same release gate), its features read from the prefetch — or, without one, from what
twinreg holds. Cards: the released risk with its largest contributions, or an info card:
the features that are missing, the input refused, or the check that withheld it.
"""

from __future__ import annotations

from typing import Any

from api.cds import cards
from api.cds.cards import md
from api.cds.features import FeatureValues, from_held, from_prefetch
from api.cds.fhir_input import read_prefetch
from api.cds.held import held_entries
from api.cds.requests import HookRequest
from api.composition.service import TwinregService
from api.errors import BadRequest
from governance.errors import NotFound
from governance.identity.principal import Principal
from governance.policy.feature_codes import RiskService
from governance.release.decision import ReleaseDecision

TOP_CONTRIBUTIONS = 5


def risk_cards(
    svc: TwinregService, principal: Principal, request: HookRequest, base: str
) -> list[dict[str, Any]]:
    codes = svc.policies.current().feature_codes
    risk = codes.risk
    assert risk is not None  # the service is offered only when configured
    patient = request.patient_id
    try:
        _, described = svc.gate.resolve(risk.model, None)
    except NotFound:
        return [_refused(svc, principal, risk, patient, base, "the model is not registered")]
    names = described.card.feature_names
    specs = codes.features[risk.model]
    facts = read_prefetch(request.prefetch, patient)
    if facts.empty:
        values = from_held(names, specs, held_entries(svc, principal, patient, risk.purpose))
    else:
        values = from_prefetch(names, specs, facts)
    if values.missing:
        audit_id = _record(svc, principal, risk, patient, "missing features",
                           {"missing": sorted(values.missing)})  # fmt: skip
        return [cards.missing_features_card(base, risk.model, audit_id, values.missing)]
    try:
        decision = svc.predictions.predict(principal, risk.model, patient, risk.purpose,
                                           values.values)  # fmt: skip
    except BadRequest as exc:
        audit_id = str(getattr(exc, "audit_id", ""))
        return [cards.refused_card(base, "risk estimate", risk.model, audit_id, str(exc))]
    if not decision.released:
        checks = [c.to_dict() for c in decision.checks]
        return [cards.withheld_card(base, "risk estimate", risk.model, decision.audit_id, checks)]
    return [risk_card(decision, values, described.card.threshold, base)]


def _record(
    svc: TwinregService,
    principal: Principal,
    risk: RiskService,
    patient: str,
    reason: str,
    extra: dict[str, Any],
) -> str:
    return svc.gate.record_refusal(principal, "prediction", {
        "model": risk.model, "model_version": None, "purpose": risk.purpose,
        "patient": svc.pseudonymiser.site_patient_key(principal.site or "", patient),
        "reason": reason, "field": "features", "via": "cds-hooks", **extra,
    })  # fmt: skip


def _refused(
    svc: TwinregService, principal: Principal, risk: RiskService, patient: str, base: str,
    reason: str,
) -> dict[str, Any]:  # fmt: skip
    audit_id = _record(svc, principal, risk, patient, reason, {})
    return cards.refused_card(base, "risk estimate", risk.model, audit_id, reason)


def risk_card(
    decision: ReleaseDecision, values: FeatureValues, threshold: float | None, base: str
) -> dict[str, Any]:
    assert decision.computation is not None
    prediction = decision.computation.prediction
    explanation = decision.computation.explanation
    value = float(prediction["value"])
    above = threshold is not None and value >= threshold
    what = f"{value:.0%}" if prediction.get("kind") == "probability" else f"{value:.3g}"
    text = f"{decision.model} v{decision.model_version}: {what}"
    if threshold is not None:
        text += f" ({'at or above' if above else 'below'} the {threshold:.0%} threshold)"
    return cards.card(
        decision.audit_id,
        text,
        "warning" if above else "info",
        cards.released_source(base, decision),
        _detail(decision, values, explanation, what + _range(prediction)),
        [cards.link(f"{decision.model} v{decision.model_version} in twinreg",
                    cards.source(base, decision.model, decision.model_version)["url"])],
        overrideReasons=cards.override_reasons(),
    )  # fmt: skip


def _range(prediction: dict[str, Any]) -> str:
    """The prediction's 90% range, as a probability like the value, or a value."""
    found = prediction.get("range")
    if not isinstance(found, dict):
        return ""
    low, high = float(found["low"]), float(found["high"])
    if found.get("of") == "survival_probability":
        return f" (90% range of survival at the horizon {low:.0%}\u2013{high:.0%})"
    if found.get("of") == "probability":
        return f" (90% range {low:.0%}\u2013{high:.0%})"
    return f" (90% range {low:.3g}\u2013{high:.3g})"


def _detail(
    decision: ReleaseDecision, values: FeatureValues, explanation: dict[str, Any], what: str
) -> str:
    contributions = explanation.get("contributions", {})
    top = sorted(contributions.items(), key=lambda kv: -abs(kv[1]))[:TOP_CONTRIBUTIONS]
    rows = "\n".join(
        f"| {md(n)} | {values.values[n]:g} | {c:+.3f} | {md(values.sources.get(n, ''))} |"
        for n, c in top
    )
    warnings = "".join(f"\n\nWarning: {md(w)}" for w in decision.warnings)
    return (
        f"Predicted: **{what}** ({md(explanation.get('output_space', ''))} space: base "
        f"{explanation.get('base_value', 0.0):.3f} + contributions = "
        f"{explanation.get('output_value', 0.0):.3f}).\n\n"
        f"| feature | value | contribution | from |\n| --- | --- | --- | --- |\n{rows}"
        f"{warnings}\n\nAudit record: `{decision.audit_id}`."
    )
