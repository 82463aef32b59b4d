"""Who is acting: the authenticated principal, as governance sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from governance.identity.user_names import user_name


@dataclass(frozen=True)
class Principal:
    #: The user name, normalised (:func:`~governance.identity.user_names.user_name`):
    #: ``Principal(" Dana ", ...)`` is ``dana``'s; a name outside the pattern raises
    #: :class:`~governance.errors.InvalidInput`.
    user: str
    role: str
    #: Clinicians act at one site; every other role acts across sites (None).
    site: str | None = None
    #: The bearer token's id and issue time (none for in-process callers): what a
    #: revocation names.
    token_id: str | None = None
    token_issued_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "user", user_name(self.user))

    def to_audit(self) -> dict[str, str | None]:
        return {"user": self.user, "role": self.role, "site": self.site}
