"""Who is acting: the authenticated principal, as governance sees it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    user: str
    role: str
    #: Clinicians act at one site; every other role acts across sites (None).
    site: str | None = None
    token_id: str | None = None

    def to_audit(self) -> dict[str, str | None]:
        return {"user": self.user, "role": self.role, "site": self.site}
