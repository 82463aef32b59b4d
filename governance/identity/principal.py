"""Who is acting: the authenticated principal, as governance sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Principal:
    user: str
    role: str
    #: Clinicians act at one site; every other role acts across sites (None).
    site: str | None = None
    #: The bearer token's id and issue time (none for in-process callers): what a
    #: revocation names.
    token_id: str | None = None
    token_issued_at: datetime | None = None

    def to_audit(self) -> dict[str, str | None]:
        return {"user": self.user, "role": self.role, "site": self.site}
