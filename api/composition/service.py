"""The composition: one object wiring governance, registry and explain for one home.

Handlers and CLI commands call one method here each. ``registry`` and ``explain`` never
meet ``governance`` except through this module and the modules beside it in
:mod:`api.composition` (``runtime``, ``dossiers``, ``bias_audits``, ``oversight``,
``catalogue``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO, cast
from zoneinfo import ZoneInfo

import pandas as pd

from api.composition import bias_audits, catalogue, dossiers, oversight, status
from api.composition.cohorts import CohortService
from api.composition.devices import DeviceService
from api.composition.home import ensure_home
from api.composition.predictions import PredictionService
from api.composition.runtime import RegistryRuntime
from api.composition.settings import Settings
from api.composition.status import Health
from api.composition.trials import TrialService
from api.composition.twins import TwinService
from api.composition.validation import (
    check_reference,
)
from api.errors import BadRequest
from explain.mechanistic import warm_up_exact_explainer
from governance.audit.chain import AuditLog
from governance.audit.checkpoint_writer import CheckpointWriter
from governance.audit.policy_stamp import PolicyStamp
from governance.audit.signing import CheckpointKey
from governance.clock import utcnow
from governance.consent.patients import PatientService
from governance.devices.bindings import DeviceBindings
from governance.errors import NotFound
from governance.identity.principal import Principal
from governance.identity.pseudonym import Pseudonymiser
from governance.identity.revocation import Revocations
from governance.lifecycle.versions import Lifecycle
from governance.oversight.overrides import OVERRIDE_ACTIONS, OverrideAction, OverrideService
from governance.oversight.report_trends import DecisionFilter, DecisionTrend
from governance.oversight.reports import EthicsReport
from governance.policy.rules import DatabaseRules, read_policy_csv
from governance.policy.store import PolicyStore
from governance.policy.watch import watcher_for
from governance.release.gate import ReleaseGate
from governance.store import migrations
from governance.store.db import is_sqlite, make_engine
from governance.twins.bank import TwinBank
from governance.twins.keys import PatientKeys
from models.card import TwinCard, TwinKind
from models.mechanistic import warm_up as warm_mechanistic_kernels
from models.uncertainty import Uncertainty
from registry import RegisteredVersion, TwinRegistry

_log = logging.getLogger("twinreg.service")


class TwinregService:
    """One home's services. ``schema`` says what opening the governance database does
    (:data:`governance.store.migrations.Mode`): every command creates a new database at
    the head revision; ``twinreg init``, ``twinreg upgrade`` and the server's start-up
    (``upgrade``) bring an older one up to date; the other commands (``require``) refuse
    it, naming ``twinreg upgrade``; ``twinreg info`` (``inspect``) reports on it."""

    def __init__(self, settings: Settings, schema: migrations.Mode = "require") -> None:
        self.settings = settings
        secrets = ensure_home(settings)
        self.token_key = secrets.token_key
        self.engine = make_engine(settings.governance_url)
        try:
            self.schema = migrations.prepare(self.engine, schema)
        except BaseException:
            self.engine.dispose()
            raise
        rules = (
            DatabaseRules(settings.governance_url) if settings.policy_store == "database" else None
        )
        self.policies = PolicyStore(
            settings.policies_dir,
            rules=rules,
            watcher=watcher_for(settings.governance_url, settings.redis_url) if rules else None,
            recheck_seconds=settings.policy_recheck_seconds,
        )
        self.audit_signer = secrets.audit_signer
        #: Signs the chain's head by itself while the server runs (started in the app's
        #: lifespan); the chain only tells it how far it got.
        self.checkpoints = CheckpointWriter(
            self.engine,
            settings.checkpoints_file,
            secrets.audit_signer,
            settings.checkpoint_every_records,
            settings.checkpoint_every_seconds,
        )
        self.audit = AuditLog(
            self.engine, PolicyStamp(self.policies), after_append=self.checkpoints.appended
        )
        self.pseudonymiser = Pseudonymiser(secrets.pseudonym_key)
        self.lifecycle = Lifecycle(self.engine, self.audit, self.policies)
        self.patients = PatientService(self.engine, self.audit, self.policies, self.pseudonymiser)
        self.gate = ReleaseGate(
            self.policies, self.lifecycle, self.audit, self.pseudonymiser, self.engine
        )
        self.registry = TwinRegistry(settings.tracking_uri, settings.artifact_root)
        self.runtime = RegistryRuntime(self.registry, local_store=is_sqlite(self.engine))
        self.predictions = PredictionService(
            self.gate, self.runtime, self.lifecycle, self.pseudonymiser
        )
        self.revocations = Revocations(self.engine, self.audit)
        self.overrides = OverrideService(self.engine, self.audit, self.policies)
        keys = PatientKeys(secrets.patient_master_key)
        self.twins = TwinService(
            self.engine,
            self.gate,
            self.runtime,
            TwinBank(self.engine, self.audit, keys),
            self.audit,
            self.policies,
            self.pseudonymiser,
            ZoneInfo(settings.site_time_zone),
        )
        self.devices = DeviceService(
            self.engine, self.twins, DeviceBindings(self.engine, self.audit, keys), self.policies
        )
        #: Research: cohorts and in-silico trials (issue 17).
        self.cohorts = CohortService(self.engine, self.audit, self.policies, self.lifecycle)
        self.trials = TrialService(
            self.engine,
            self.audit,
            self.policies,
            self.lifecycle,
            self.cohorts,
            self.twins.bank,
            self.runtime.load,
            settings.ray_address,
        )

    # -- registration -------------------------------------------------------------------
    def register_version(
        self,
        principal: Principal,
        name: str,
        kind: TwinKind,
        model: object,
        card: TwinCard,
        evaluation: pd.DataFrame,
        background: pd.DataFrame | None = None,
        uncertainty: Uncertainty | None = None,
    ) -> RegisteredVersion:
        """The data scientist's Python entry point: log, register and record a version
        (with ``background``, the rows its explanations are taken against, and
        ``uncertainty``, how each patient's range is found: :mod:`models.uncertainty`)."""
        self.lifecycle.require(principal, name, "register")
        registered = self.registry.register(
            name,
            kind,
            model,
            card,
            evaluation,
            registrant=principal.user,
            background=background,
            uncertainty=uncertainty,
        )
        self._record(principal, registered)
        return registered

    def register_logged_run(
        self, principal: Principal, name: str, run_id: str
    ) -> RegisteredVersion:
        self.lifecycle.require(principal, name, "register")
        registered = self.registry.register_logged_run(name, run_id, registrant=principal.user)
        self._record(principal, registered)
        return registered

    def _record(self, principal: Principal, registered: RegisteredVersion) -> None:
        self.lifecycle.record_registration(
            principal,
            model=registered.name,
            version=registered.version,
            kind=registered.kind.value,
            artifact_sha256=registered.artifact_sha256,
            evaluation_digest=registered.evaluation_digest,
            run_id=registered.run_id,
            card=registered.card,
            environment=registered.environment,
        )

    # -- lifecycle ----------------------------------------------------------------------
    def run_bias_audit(self, principal: Principal, model: str, version: str) -> dict[str, Any]:
        check_reference(model, version)
        self.lifecycle.require(principal, model, "bias_audit")
        state = self.lifecycle.version(model, version)
        twin = self.registry.load(model, version, state.artifact_sha256)
        result = bias_audits.evaluate_bias(
            state, twin.model, twin.evaluation, self.policies.current().bias_audit_limits
        )
        view = self.lifecycle.record_bias_audit(
            principal, model, version, passed=result["passed"], metrics=result
        )
        return view.to_dict()

    # -- validation dossiers ----------------------------------------------------------
    def run_dossier(self, principal: Principal, model: str, version: str) -> dict[str, Any]:
        """Compute, judge and store the version's validation dossier (validators)."""
        check_reference(model, version)
        self.lifecycle.require(principal, model, "dossier")
        state = self.lifecycle.version(model, version)
        view, seconds = dossiers.run_dossier(self.lifecycle, self.runtime, principal, state)
        return {**view.to_dict(), "computed_in_seconds": round(seconds, 3)}

    def dossier(self, principal: Principal, model: str, version: str) -> dict[str, Any]:
        """The version's latest validation dossier, with its digest verified."""
        check_reference(model, version)
        self.lifecycle.require(principal, model, "read_dossier")
        self.lifecycle.version(model, version)
        view = self.lifecycle.dossiers.latest(model, version)
        if view is None:
            raise NotFound(
                f"{model} v{version} has no validation dossier yet; a validator computes it "
                f"with POST /v1/models/{model}/versions/{version}/dossier"
            )
        return view.to_dict()

    def change_control(self, principal: Principal, model: str, version: str) -> dict[str, Any]:
        """What the version changes against the approved one (card and metrics), now."""
        check_reference(model, version)
        self.lifecycle.require(principal, model, "read_dossier")
        state = self.lifecycle.version(model, version)
        return dossiers.changes(self.lifecycle, self.runtime, state)

    def transition(
        self, principal: Principal, action: str, model: str, version: str, comment: str
    ) -> str:
        """Apply one lifecycle transition; returns the version's status after it."""
        check_reference(model, version)
        actions = {
            "approve": self.approve,
            "reject": self.reject,
            "suspend": self.suspend,
            "reinstate": self.reinstate,
        }
        actions[action](principal, model, version, comment)
        return self.lifecycle.version(model, version).status

    def approval_preconditions(
        self, principal: Principal, model: str, version: str
    ) -> list[dict[str, Any]]:
        """What approving the version needs now, each met or not and why (nothing acts)."""
        check_reference(model, version)
        self.lifecycle.require(principal, model, "read")
        found = self.lifecycle.approval_preconditions(principal, model, version, utcnow())
        return [p.to_dict() for p in found]

    def is_revoked(self, jti: str, subject: str, issued_at: datetime) -> bool:
        return self.revocations.is_revoked(jti, subject, issued_at)

    def approve(self, principal: Principal, model: str, version: str, comment: str) -> None:
        self.lifecycle.approve(principal, model, version, comment)
        self._mirror_alias(model)

    def reject(self, principal: Principal, model: str, version: str, comment: str) -> None:
        self.lifecycle.reject(principal, model, version, comment)

    def suspend(self, principal: Principal, model: str, version: str, reason: str) -> None:
        self.lifecycle.suspend(principal, model, version, reason)
        self._mirror_alias(model)

    def reinstate(self, principal: Principal, model: str, version: str, reason: str) -> None:
        self.lifecycle.reinstate(principal, model, version, reason)
        self._mirror_alias(model)

    def _mirror_alias(self, model: str) -> None:
        approved = self.lifecycle.approved_version(model)
        self.registry.set_approved_alias(model, approved.version if approved else None)

    def repair_aliases(self) -> list[str]:
        """Make every MLflow ``approved`` alias mirror the governance database."""
        repaired = []
        for model in sorted({v.model for v in self.lifecycle.versions()}):
            approved = self.lifecycle.approved_version(model)
            want = approved.version if approved else None
            if self.registry.approved_alias(model) != want:
                self.registry.set_approved_alias(model, want)
                repaired.append(model)
        return repaired

    def models(self) -> list[dict[str, Any]]:
        return catalogue.models(self.lifecycle)

    def list_models(self, principal: Principal) -> list[dict[str, Any]]:
        return catalogue.list_models(self.lifecycle, principal)

    def model_detail(self, principal: Principal, model: str) -> dict[str, Any]:
        return catalogue.model_detail(self.lifecycle, principal, model)

    def version_detail(self, principal: Principal, model: str, version: str) -> dict[str, Any]:
        return catalogue.version_detail(self.lifecycle, principal, model, version)

    # -- human oversight and reports ----------------------------------------------------
    def record_override(
        self, principal: Principal, audit_id: str, action: str, reason: str
    ) -> dict[str, Any]:
        """A clinician disregarded, overrode or accepted a released prediction (human
        oversight)."""
        if action not in OVERRIDE_ACTIONS:
            raise BadRequest(f"action must be one of {list(OVERRIDE_ACTIONS)}", field="action")
        if any(not (c.isprintable() or c in "\n\t") for c in reason):
            raise BadRequest("the reason must not contain control characters", field="reason")
        chosen = cast(OverrideAction, action)
        return self.overrides.record(principal, audit_id, chosen, reason).to_dict()

    def ethics_report(
        self, principal: Principal, since: datetime, until: datetime, fmt: str
    ) -> tuple[str, str]:
        """The ethics-board report for [since, until) as (media type, body)."""
        media, export = oversight.report_export(self.lifecycle, principal, since, until, fmt)
        return media, export(self.ethics_report_data(principal, since, until, fmt))

    def ethics_report_data(
        self, principal: Principal, since: datetime, until: datetime, fmt: str = "page"
    ) -> EthicsReport:
        return oversight.ethics_report_data(
            self.lifecycle,
            self.policies,
            self.audit,
            self.engine,
            self.settings.checkpoints_file,
            self.audit_signer.public_key,
            principal,
            since,
            until,
            fmt,
        )

    def decision_trend(
        self, principal: Principal, since: datetime, until: datetime, wanted: DecisionFilter
    ) -> DecisionTrend:
        """Decisions per week by outcome and reason, and the withheld ones (audited)."""
        return oversight.decision_trend(
            self.lifecycle, self.audit, self.engine, principal, since, until, wanted
        )

    # -- audit --------------------------------------------------------------------------
    def audit_records(self, principal: Principal, **filters: Any) -> list[dict[str, Any]]:
        return oversight.audit_records(self.lifecycle, self.audit, principal, filters)

    def audit_record(self, principal: Principal, record_id: str) -> dict[str, Any]:
        """One audit record by its id (the read is audited)."""
        return oversight.audit_record(self.lifecycle, self.audit, principal, record_id)

    def audit_verify(
        self,
        principal: Principal | None,
        keys: Sequence[CheckpointKey] | None = None,
        checkpoint_files: Sequence[Path] | None = None,
    ) -> dict[str, Any]:
        """The chain verified against signed checkpoints: by default the home's file and
        the home's public key (the CLI may name other files and pinned keys)."""
        return oversight.audit_verify(
            self.lifecycle,
            self.audit,
            self.engine,
            checkpoint_files or [self.settings.checkpoints_file],
            keys or [self.audit_signer.public_key],
            principal,
        )

    def audit_checkpoint(self) -> dict[str, Any]:
        return oversight.audit_checkpoint(
            self.engine, self.settings.checkpoints_file, self.audit_signer
        )

    def audit_public_key(self) -> str:
        """The public key that verifies this home's checkpoints (PEM), for export."""
        return self.audit_signer.public_key.pem()

    def audit_export(self, out: TextIO, actor: str) -> int:
        """Write every record as stored (one JSON line each) to ``out``; audited."""
        return oversight.audit_export(self.audit, self.engine, out, actor)

    def load_policy_lines(self, actor: str) -> str:
        """Copy ``policies/rbac_policy.csv`` into the database; returns the new version."""
        if self.policies.rules is None:
            raise BadRequest(
                "set TWINREG_POLICY_STORE=database to keep policies in the database",
                field="TWINREG_POLICY_STORE",
            )
        lines = read_policy_csv(self.settings.policies_dir / "rbac_policy.csv")
        self.policies.rules.replace(lines)
        self.policies.rules_changed()
        version = self.policies.current().version
        self.audit.append(
            "policy.load", {"actor": actor, "lines": len(lines), "policy_version": version}
        )
        return version

    def warm_up(self) -> None:
        """Before serving: compile (or load from numba's cache) every mechanistic kernel
        and shap's exact explainer, which otherwise cost the first request ~15 s."""
        if not self.settings.warm_up:
            return
        seconds = sum(warm_mechanistic_kernels().values()) + warm_up_exact_explainer()
        _log.info("mechanistic kernels and exact explainer warmed up in %.1f s", seconds)

    # -- health / info (api.composition.status) ----------------------------------------
    def health(self) -> Health:
        """What is up, for anyone (load balancers poll it): :func:`status.health`."""
        return status.health(self)

    def info(self) -> dict[str, Any]:
        return status.info(self)
