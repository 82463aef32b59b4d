"""The replay cache of EHR JWTs (CDS Hooks): a ``jti`` is accepted once per issuer.

:meth:`EhrTokenUses.first_use` inserts one row per (issuer, jti) and says whether it was
the first: the primary key decides, in one statement, so two replicas (or two workers)
that receive the same token at the same moment cannot both accept it. Rows are kept until
the token's ``exp`` plus :data:`KEEP_AFTER_EXPIRY` (a token past its ``exp`` is refused
before its jti is looked at) and removed by later uses, a bounded batch at a time.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from governance.clock import utcnow
from governance.store.cds_records import EhrTokenUse

_use = EhrTokenUse.__table__  # type: ignore[attr-defined]
#: How long a row outlives its token's expiry: more than any clock skew tolerated.
KEEP_AFTER_EXPIRY = timedelta(minutes=5)
#: Expired rows removed per use (bounded work per request).
PURGE_BATCH = 100


def token_key(issuer: str, jti: str) -> str:
    """The row's key: SHA-256 of the issuer and the jti (neither is stored in clear)."""
    return hashlib.sha256(f"{issuer}\0{jti}".encode()).hexdigest()


class EhrTokenUses:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def first_use(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        """Record the use of (issuer, jti); False when it was used before (a replay)."""
        now = utcnow()
        row = {
            "token_key": token_key(issuer, jti),
            "issuer": issuer[:255],
            "expires_at": expires_at,
            "used_at": now,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(_use).values(**row))
                self._purge(conn, now)
        except IntegrityError:
            return False
        return True

    def _purge(self, conn: Connection, now: datetime) -> None:
        stale = (
            select(_use.c.token_key)
            .where(_use.c.expires_at < now - KEEP_AFTER_EXPIRY)
            .limit(PURGE_BATCH)
        )
        keys = [k for (k,) in conn.execute(stale)]
        if keys:
            conn.execute(delete(_use).where(_use.c.token_key.in_(keys)))

    def count(self) -> int:
        """Rows held (for tests and the operator)."""
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_use)).scalar_one())
