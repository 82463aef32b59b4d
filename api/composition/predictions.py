"""One explained prediction (or a simulation's scenarios) through the release gate.

The request's facts are read once (the gate's facts reader resolves the version in the
same step); the body is checked against that version's card; the gate decides and
records. A request refused for bad input is audited too, and its 4xx carries the
record's id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.composition.validation import (
    MAX_SCENARIOS,
    check_reference,
    validate_features,
    validate_output,
)
from api.errors import BadRequest
from governance.errors import NotFound
from governance.identity.principal import Principal
from governance.identity.pseudonym import Pseudonymiser
from governance.lifecycle.versions import Lifecycle
from governance.release.decision import (
    PredictionRequest,
    ReleaseDecision,
    RequestFacts,
    TwinRuntime,
)
from governance.release.gate import ReleaseGate
from models.card import TwinCard


class PredictionService:
    def __init__(
        self,
        gate: ReleaseGate,
        runtime: TwinRuntime,
        lifecycle: Lifecycle,
        pseudonymiser: Pseudonymiser,
    ) -> None:
        self._gate = gate
        self._runtime = runtime
        self._lifecycle = lifecycle
        self._pseudonymiser = pseudonymiser

    def predict(
        self,
        principal: Principal,
        model: str,
        patient_id: str,
        purpose: str,
        features: Mapping[str, Any],
        version: str | None = None,
        plot: str | None = None,
        output: str | None = None,
        trajectory: bool = False,
        action: str = "prediction",
    ) -> ReleaseDecision:
        try:
            check_reference(model, version, purpose)
            facts = self._facts(principal, model, version, patient_id, purpose, action)
            clean = validate_features(facts.described.card, features)
            validate_output(facts.described.card, output, trajectory)
        except BadRequest as exc:
            self._refuse(principal, action, exc, model, version, purpose, patient_id)
            raise
        request = PredictionRequest(
            model=model,
            patient_id=patient_id,
            purpose=purpose,
            features=clean,
            version=version,
            options={"plot": plot, "output": output, "trajectory": trajectory},
        )
        return self._gate.decide(principal, request, facts, self._runtime, action=action)

    def simulate(
        self,
        principal: Principal,
        model: str,
        patient_id: str,
        purpose: str,
        features: Mapping[str, Any],
        scenarios: list[tuple[str, Mapping[str, Any]]],
        version: str | None = None,
        output: str | None = None,
    ) -> list[tuple[str, ReleaseDecision]]:
        """One patient under several regimens side by side; each scenario is its own
        governed, audited decision (action ``simulation``), all made on one read of the
        request's facts.

        Every scenario is validated before any is decided: one bad scenario refuses the
        whole request (one ``simulation.refused`` record, no decision). The caller returns
        every decision, released or withheld (see :mod:`api.http.presenters`), so every
        release the audit log records reaches the client.
        """
        try:
            if not 1 <= len(scenarios) <= MAX_SCENARIOS:
                raise BadRequest(f"give 1 to {MAX_SCENARIOS} scenarios", field="scenarios")
            names = [name for name, _ in scenarios]
            if len(set(names)) != len(names):
                raise BadRequest("scenario names must be unique", field="scenarios")
            check_reference(model, version, purpose)
            facts = self._facts(principal, model, version, patient_id, purpose, "simulation")
            card = facts.described.card
            if not card.kind.is_mechanistic:
                raise BadRequest(
                    f"{model} is not a mechanistic twin; simulations need one", field="model"
                )
            validate_output(card, output, True)
            regimens = [
                (name, _scenario_features(card, features, overrides, i))
                for i, (name, overrides) in enumerate(scenarios)
            ]
        except BadRequest as exc:
            self._refuse(principal, "simulation", exc, model, version, purpose, patient_id)
            raise
        options = {"plot": None, "output": output, "trajectory": True}
        return [
            (
                name,
                self._gate.decide(
                    principal,
                    PredictionRequest(model, patient_id, purpose, clean, version, options),
                    facts,
                    self._runtime,
                    action="simulation",
                ),
            )
            for name, clean in regimens
        ]

    def _facts(
        self,
        principal: Principal,
        model: str,
        version: str | None,
        patient_id: str,
        purpose: str,
        action: str,
    ) -> RequestFacts:
        try:
            return self._gate.facts(principal, model, version, patient_id, purpose, action)
        except NotFound as exc:
            raise self._unknown(model, version, exc) from exc

    def _unknown(self, model: str, version: str | None, exc: NotFound) -> BadRequest:
        """A model or version in a request body that does not exist is a bad value of that
        field (422 naming it), not a missing resource."""
        if version is not None and self._lifecycle.versions(model):
            return BadRequest(f"{exc}; GET /v1/models/{model} lists its versions", field="version")
        return BadRequest(
            f"unknown model {model!r}; GET /v1/models lists the models", field="model"
        )

    def _refuse(
        self,
        principal: Principal,
        action: str,
        exc: BadRequest,
        model: str,
        version: str | None,
        purpose: str,
        patient_id: str,
    ) -> None:
        """The audit record of a request refused for bad input; its id goes with the 4xx."""
        exc.audit_id = self._gate.record_refusal(  # type: ignore[attr-defined]
            principal,
            action,
            {
                "model": model,
                "model_version": version,
                "purpose": purpose,
                "patient": self._pseudonymiser.site_patient_key(principal.site or "", patient_id),
                "reason": str(exc),
                "field": exc.field,
            },
        )


def _scenario_features(
    card: TwinCard, base: Mapping[str, Any], overrides: Mapping[str, Any], index: int
) -> dict[str, float]:
    """The base features with scenario ``index``'s overrides, validated; a fault in an
    override names it (``scenarios[1].features.dose_mg``)."""
    try:
        return validate_features(card, {**base, **overrides})
    except BadRequest as exc:
        name = (exc.field or "").removeprefix("features.")
        if name not in overrides:
            raise
        raise BadRequest(
            f"scenario {index}: {exc}", field=f"scenarios[{index}].features.{name}"
        ) from exc
