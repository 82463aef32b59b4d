"""``POST /fhir/RiskAssessment/$predict``: one prediction through the same release gate
call as ``POST /v1/predictions`` (:meth:`PredictionService.predict`, action
``prediction``: authorised, consent-checked, audited there), said in FHIR: released, a
RiskAssessment (the model card's outcome, the model version, the audit record, the
explanation's top contributions); withheld, a 403 OperationOutcome naming each failing
check. Predictions are returned, never stored: a RiskAssessment is not read back later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from api.errors import BadRequest
from api.fhir.bundle import decode
from api.fhir.outcome import withheld_outcome
from api.fhir.risk import ROOT, Released, RiskQuery, parse_risk_query, risk_assessment
from governance.clock import utcnow
from governance.identity.principal import Principal

if TYPE_CHECKING:
    from api.composition.service import TwinregService


def parse(service: TwinregService, body: bytes, content_type: str) -> RiskQuery:
    """The request's Parameters (400 / 422 naming the parameter; audited as every FHIR
    refusal of input)."""
    return parse_risk_query(decode(body, content_type, ROOT), service.policies.current().fhir_terms)


def predict(
    service: TwinregService, principal: Principal, query: RiskQuery
) -> tuple[int, dict[str, Any]]:
    """(status, resource): 200 and the RiskAssessment, or 403 and the OperationOutcome."""
    try:
        decision = service.predictions.predict(
            principal, query.model, query.patient_id, query.purpose, query.features,
            query.version,
        )  # fmt: skip
    except BadRequest as exc:  # audited by the service; its field said as a parameter
        said = BadRequest(str(exc), field=query.expression(exc.field))
        said.audit_id = getattr(exc, "audit_id", None)  # type: ignore[attr-defined]
        raise said from exc
    computation = decision.computation
    if not decision.released or computation is None or decision.model_version is None:
        return 403, withheld_outcome(decision.reasons, decision.audit_id)
    card = service.lifecycle.version(decision.model, decision.model_version).card
    released = Released(
        model=decision.model,
        version=decision.model_version,
        audit_id=decision.audit_id,
        at=utcnow(),
        outcome=card.outcome,
        prediction=computation.prediction,
        explanation=computation.explanation,
        warnings=decision.warnings,
    )
    terms = service.policies.current().fhir_terms
    return 200, risk_assessment(released, terms, query.patient_id)
