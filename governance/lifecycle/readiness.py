"""What approving a version needs, each precondition met or not and why: the checks
:meth:`governance.lifecycle.transitions.Transitions.approve` makes, read without acting,
so a page can offer Approve only when it would succeed and otherwise say what is missing.

The role's permission is not among them: a page offers the action to a role the policy
allows (and the approval checks it again).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from governance.identity.principal import Principal
from governance.identity.user_names import same_user
from governance.lifecycle.transitions import REGISTERED, VALIDATED

if TYPE_CHECKING:
    from governance.lifecycle.versions import Lifecycle


@dataclass(frozen=True)
class Precondition:
    #: ``status``, ``bias_audit``, ``dossier`` or ``four_eyes``.
    name: str
    #: What is required, in words.
    label: str
    met: bool
    #: What is on file (met) or missing (not met).
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def approval_preconditions(
    versions: Lifecycle,
    principal: Principal,
    model: str,
    version: str,
    now: datetime,
    max_age: float,
) -> list[Precondition]:
    """Every precondition of ``principal`` approving ``model`` ``version`` at ``now``
    (``max_age``: the policy's maximum age of a bias audit, in days)."""
    state = versions.version(model, version)
    audit_ok, audit_why = versions.serving.audit_is_current(model, version, now)
    dossier_ok, dossier_why = versions.dossiers.is_current(model, version, state.evaluation_digest)
    registered_it = same_user(state.registrant, principal.user)
    return [
        Precondition(
            "status",
            "the version is validated",
            state.status == VALIDATED,
            _status_detail(state.status),
        ),
        Precondition(
            "bias_audit",
            f"a passing bias audit at most {max_age:g} days old",
            audit_ok,
            audit_why,
        ),
        Precondition(
            "dossier",
            "a passing validation dossier judged by today's criteria",
            dossier_ok,
            dossier_why,
        ),
        Precondition(
            "four_eyes",
            "approved by someone other than its registrant",
            not registered_it,
            f"registered by {state.registrant}"
            + (": another validator must approve it" if registered_it else ""),
        ),
    ]


def _status_detail(status: str) -> str:
    if status == VALIDATED:
        return "validated"
    if status == REGISTERED:
        return "registered: a passing bias audit validates it"
    return f"{status}: only a validated version can be approved"
