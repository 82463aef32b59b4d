"""The four-eyes rule: the registrant of a version never decides on it.

Approving or rejecting a version is another validator's decision than the one who
registered it; :class:`~governance.lifecycle.transitions.Transitions` checks the rule
before it approves or rejects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance.errors import FourEyesViolation
from governance.identity.principal import Principal
from governance.identity.user_names import same_user

if TYPE_CHECKING:  # versions imports this module (through transitions)
    from governance.lifecycle.versions import VersionState


def require_four_eyes(principal: Principal, state: VersionState, action: str) -> None:
    """Raise :class:`FourEyesViolation` if ``principal`` registered the version: the
    names compared normalised, so that no other spelling of the registrant's name (a
    registrant ``'dana '`` recorded before names were normalised, an old token for
    ``DANA``) passes for a second pair of eyes."""
    if same_user(state.registrant, principal.user):
        raise FourEyesViolation(
            f"four-eyes rule: {principal.user!r} registered {state.model} v{state.version} "
            f"and can never {action} it; another validator must"
        )
