"""Token revocation: by token id (``jti``) or by user; checked on every request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, and_, bindparam, insert, or_, select

from governance.audit_log import AuditLog
from governance.clock import utcnow
from governance.db import OneRowRead
from governance.records import RevokedToken

_rt = RevokedToken.__table__  # type: ignore[attr-defined]

# Checked on every authenticated request: one indexed statement, built once.
_REVOKED = select(
    select(_rt.c.id)
    .where(
        or_(
            _rt.c.jti == bindparam("jti"),
            and_(_rt.c.subject == bindparam("subject"), _rt.c.revoked_at >= bindparam("at")),
        )
    )
    .exists()
)


class Revocations:
    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit
        self._revoked = OneRowRead(engine, _REVOKED)

    def revoke(self, actor: str, jti: str | None = None, subject: str | None = None) -> None:
        if (jti is None) == (subject is None):
            raise ValueError("revoke exactly one of a token id or a user")
        with self._engine.begin() as conn:
            conn.execute(
                insert(_rt).values(jti=jti, subject=subject, revoked_at=utcnow(), revoked_by=actor)
            )
            self._audit.append(
                "token.revoke", {"actor": actor, "jti": jti, "subject": subject}, conn=conn
            )

    def is_revoked(self, jti: str, subject: str, issued_at: datetime) -> bool:
        """A token is revoked by its id, or by a revocation of its user made after it
        was issued (tokens issued later are valid again)."""
        return bool(self._revoked({"jti": jti, "subject": subject, "at": issued_at})[0])
