"""Which lifecycle actions a page offers: allowed by the Casbin rules for the role *and*
possible from the version's status. The service checks both again when the form is sent."""

from __future__ import annotations

from api.composition.service import TwinregService
from governance.identity.principal import Principal

#: action -> the statuses it can start from.
LIFECYCLE_ACTIONS: dict[str, tuple[str, ...]] = {
    "bias_audit": ("registered", "validated", "approved", "suspended"),
    "dossier": ("registered", "validated", "approved", "suspended"),
    "approve": ("registered", "validated"),
    "reject": ("registered", "validated"),
    "suspend": ("approved",),
    "reinstate": ("suspended",),
}


def may(service: TwinregService, principal: Principal, model: str, act: str) -> bool:
    """The Casbin rules allow the role ``act`` on the model (nothing is audited)."""
    decision = service.policies.current().allows(
        principal.role, principal.site, principal.site or "*", f"model/{model}", act
    )
    return decision.allowed


def offered_actions(
    service: TwinregService, principal: Principal, model: str, status: str
) -> list[str]:
    return [
        act
        for act, starts in LIFECYCLE_ACTIONS.items()
        if status in starts and may(service, principal, model, act)
    ]
