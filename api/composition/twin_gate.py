"""A twin operation through the release gate, like a prediction.

The gate runs its checks in its order (role, purpose, site, consent, approval of the
twin's version — a suspended version serves nothing —, bias audit) and only then, in its
``explanation`` step, this operation: patient data are read after consent is confirmed.
The decision is recorded by the gate. What the operation raised comes back as the error
the caller answers with, carrying the decision's audit id: missing or contradictory data
422, a patient outside the model 403 (withheld, saying why), an erased patient 409.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from api.composition.twin_course import OutsideModel
from governance.errors import Forbidden, GovernanceError, InvalidInput
from governance.identity.principal import Principal
from governance.lifecycle.versions import VersionState
from governance.release.decision import (
    Computation,
    ComputationRefused,
    PredictionRequest,
    ReleaseDecision,
    TwinRuntime,
)
from governance.release.gate import ReleaseGate
from models.calibration.errors import GlucoseDataError
from models.dosing.errors import DosingDataError

Operation = Callable[[], dict[str, Any]]


class _OperationRuntime:
    """The gate's runtime for one twin operation: the version's artifact is loaded (its
    hash checked) by the registry runtime; the computation is ``operation``."""

    def __init__(self, runtime: TwinRuntime, operation: Operation) -> None:
        self._runtime = runtime
        self._operation = operation
        self.error: Exception | None = None

    def load(self, state: VersionState) -> object:
        return self._runtime.load(state)

    def compute(
        self,
        handle: object,
        state: VersionState,
        features: Mapping[str, float],
        options: Mapping[str, Any],
    ) -> Computation:
        try:
            result = self._operation()
        except Exception as exc:
            self.error = exc
            raise ComputationRefused(*refusal_reason(exc)) from exc
        return Computation(result, {}, True, "twin operation: no attribution to add up")


def refusal_reason(error: Exception) -> tuple[str, str]:
    """Why an operation refused, as its audit record says it: a class and the field or
    covariate name (names from the code; the error's text, which may quote a patient's
    value or time, goes to the caller only)."""
    if isinstance(error, DosingDataError | GlucoseDataError):
        return error.problem, error.field
    if isinstance(error, OutsideModel):
        return "outside_model", error.field
    if isinstance(error, InvalidInput):
        reason = "missing" if ": missing" in str(error) else "invalid"
        return reason, error.field or "-"
    if isinstance(error, GovernanceError):
        return type(error).__name__, getattr(error, "field", None) or "-"
    return type(error).__name__, "-"


def decide(
    gate: ReleaseGate,
    runtime: TwinRuntime,
    principal: Principal,
    request: PredictionRequest,
    action: str,
    operation: Operation,
    digest: Callable[[bytes], str] | None = None,
) -> tuple[ReleaseDecision, dict[str, Any]]:
    """The released decision and the operation's result, or the error to answer with;
    the record's digests keyed with ``digest`` (the patient's key)."""
    facts = gate.facts(
        principal, request.model, request.version, request.patient_id, request.purpose, action
    )
    ops = _OperationRuntime(runtime, operation)
    decision = gate.decide(principal, request, facts, ops, action=action, digest=digest)
    if decision.released and decision.computation is not None:
        return decision, dict(decision.computation.prediction)
    raise _refusal(decision, ops.error)


def _refusal(decision: ReleaseDecision, error: Exception | None) -> GovernanceError:
    refusal: GovernanceError
    if isinstance(error, DosingDataError | GlucoseDataError):
        refusal = InvalidInput(f"{error.field}: {error.problem}: {error.detail}", field=error.field)
    elif isinstance(error, InvalidInput | GovernanceError):
        refusal = error
    elif isinstance(error, OutsideModel):
        refusal = Forbidden(f"withheld: {error}")
    else:
        reasons = "; ".join(f"{r['check']}: {r['detail']}" for r in decision.reasons)
        refusal = Forbidden(f"withheld: {reasons}")
    refusal.audit_id = decision.audit_id
    return refusal
