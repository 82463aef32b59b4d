"""A patient's twins, listed for the clinician's patient page: who may read them is the
twins' own rule (:meth:`TwinService.patient`, act ``read``), and the read is audited
(``twin.list.read``: who, which patient by its keyed pseudonym, how many) before the list
is returned, like every read of patient data."""

from __future__ import annotations

from api.composition.twins import TwinService
from governance.audit.chain import AuditLog
from governance.identity.principal import Principal
from governance.policy.store import PolicyStore
from governance.twins.views import TwinView


def patient_twins(
    twins: TwinService,
    audit: AuditLog,
    policies: PolicyStore,
    principal: Principal,
    patient_id: str,
    site: str | None = None,
) -> tuple[list[TwinView], str]:
    """Every twin of the patient of ``site`` (default: the caller's) (any status, oldest
    first) and the read's audit id."""
    key = twins.patient(principal, patient_id, "read", site)
    found = twins.bank.twins(key, status=None)
    body = {
        "principal": principal.to_audit(),
        "patient": key,
        "twins": len(found),
        "policy_version": policies.current().version,
    }
    return found, audit.append("twin.list.read", body).record_id
