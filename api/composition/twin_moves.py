"""The move of a patient twin to another version of its model.

:class:`~api.composition.twins.TwinService` checks who may act on the twin (and that no
consent gap leaves it incomplete), then hands the twin here: the move goes to the approved
version of the model (or the ``version`` named, which the gate requires approved), of the
same twin kind, recalibrated from the patient's observations under it through the release
gate; the move is recorded with its first state there. A calibration that does not
converge moves nothing (422, audited with the solver's words).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.composition.twin_gate import decide
from api.composition.twin_kinds import TwinKindAdapter
from governance.audit.chain import AuditLog
from governance.errors import Conflict, InvalidInput, NotFound
from governance.identity.principal import Principal
from governance.policy.store import PolicyStore
from governance.release.decision import PredictionRequest, TwinRuntime
from governance.release.gate import ReleaseGate
from governance.twins.bank import TwinBank
from governance.twins.views import Record, TwinView

#: The twin kind's adapter (:class:`InvalidInput` for a kind that cannot be calibrated).
AdapterOf = Callable[[TwinView], TwinKindAdapter]


class TwinMoves:
    """Moves twins between versions of their model, through the release gate."""

    def __init__(
        self,
        gate: ReleaseGate,
        runtime: TwinRuntime,
        bank: TwinBank,
        audit: AuditLog,
        policies: PolicyStore,
    ) -> None:
        self._gate = gate
        self._runtime = runtime
        self._bank = bank
        self._audit = audit
        self._policies = policies

    def move(
        self,
        principal: Principal,
        patient_id: str,
        twin: TwinView,
        version: str | None,
        reason: str,
        adapter_of: AdapterOf,
    ) -> tuple[TwinView, Record, Record]:
        """Move ``twin`` (checked by the caller) to ``version`` (the approved one if None):
        the twin as it is now, its first state there, and the move's record."""
        if not reason.strip():
            raise InvalidInput("a reason is required", field="reason")
        target_version, adapter = self._target(twin, version, adapter_of)
        request = PredictionRequest(twin.model, patient_id, twin.purpose, {}, target_version, {})
        decision, body = decide(
            self._gate, self._runtime, principal, request, "twin.move",
            lambda: adapter.calibrate(self._bank.observations(twin.patient_key)),
            self._bank.digester(twin.patient_key),
        )  # fmt: skip
        audit = {
            "principal": principal.to_audit(),
            "patient": twin.patient_key,
            "twin": twin.id,
            "gate_record": decision.audit_id,
            "policy_version": self._policies.current().version,
        }
        if body["status"] != "converged":
            raise self._not_converged(twin, target_version, body, audit)
        state, moved = self._bank.move(principal, twin, target_version, body, reason, audit)
        return self._bank.twin(twin.patient_key, twin.id), state, moved

    def _target(
        self, twin: TwinView, version: str | None, adapter_of: AdapterOf
    ) -> tuple[str, TwinKindAdapter]:
        """The version to move to (another one, of the twin's kind) and the kind's adapter."""
        try:
            serving, target = self._gate.resolve(twin.model, version)
        except NotFound as exc:
            raise InvalidInput(f"{exc}", field="version") from exc
        if version is None and serving is None:
            raise Conflict(f"{twin.model} has no approved version to move twin {twin.id} to")
        if target.version == twin.model_version:
            raise Conflict(f"twin {twin.id} is already on version {twin.model_version}")
        adapter = adapter_of(twin)
        if target.card.kind.value != adapter.kind:
            raise InvalidInput(
                f"version {target.version} of {twin.model} is a {target.card.kind.value} twin, "
                f"not {adapter.kind}",
                field="version",
            )
        return target.version, adapter

    def _not_converged(
        self, twin: TwinView, target_version: str, body: dict[str, Any], audit: dict[str, Any]
    ) -> InvalidInput:
        """The refusal of a move whose calibration did not converge, its reason audited."""
        failed = InvalidInput(
            f"the calibration under version {target_version} did not converge "
            f"({body['message']}): twin {twin.id} stays on version {twin.model_version}",
            field="observations",
        )
        failed.audit_id = self._audit.append("twin.move.failed", {
            **audit, "to_version": target_version, "reason": "not_converged",
            "solver": body["message"],
        }).record_id  # fmt: skip
        return failed
