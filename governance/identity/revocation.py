"""Token revocation: by token id (``jti``) or by user; checked on every request.

Most requests check it with their own read (:meth:`Revocations.is_revoked`); a prediction
checks it in the release gate's single facts read (:data:`REVOKED_COLUMN`), so that the
token, the consents and the serving state are read in one snapshot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Exists, and_, bindparam, insert, or_, select

from governance.audit.chain import AuditLog
from governance.clock import utcnow
from governance.identity.user_names import user_name
from governance.store.db import OneRowRead
from governance.store.records import RevokedToken

_rt = RevokedToken.__table__  # type: ignore[attr-defined]
#: What a request with a revoked token is told.
REVOKED = "the token has been revoked"

#: Whether the token bound as ``jti`` (its id), ``subject`` and ``issued_at`` is revoked:
#: by its id, or by a revocation of its user made after it was issued. Unbound (NULL) for a
#: principal without a token: never revoked. Both lookups are indexed.
REVOKED_COLUMN: Exists = (
    select(_rt.c.id)
    .where(
        or_(
            _rt.c.jti == bindparam("jti"),
            and_(
                _rt.c.subject == bindparam("subject"),
                _rt.c.revoked_at >= bindparam("issued_at"),
            ),
        )
    )
    .exists()
)
# Checked on every authenticated request: one indexed statement, built once.
_REVOKED = select(REVOKED_COLUMN)


class Revocations:
    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit
        self._revoked = OneRowRead(engine, _REVOKED)

    def revoke(self, actor: str, jti: str | None = None, subject: str | None = None) -> None:
        if (jti is None) == (subject is None):
            raise ValueError("revoke exactly one of a token id or a user")
        if subject is not None:  # as tokens spell it: " Dana " revokes dana's tokens
            subject = user_name(subject)
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
        return bool(self._revoked(token_binds(jti, subject, issued_at))[0])


def token_binds(jti: str | None, subject: str | None, issued_at: datetime | None) -> dict[str, Any]:
    """The values :data:`REVOKED_COLUMN` reads (all None: no token, never revoked)."""
    if jti is None:
        return {"jti": None, "subject": None, "issued_at": None}
    return {"jti": jti, "subject": subject, "issued_at": issued_at}
