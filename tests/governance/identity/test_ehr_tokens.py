"""The replay cache of EHR JWTs: a jti is accepted once per issuer, across replicas (two
engines on one database), and rows past their token's expiry are purged."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, insert

from governance.clock import utcnow
from governance.identity.ehr_tokens import KEEP_AFTER_EXPIRY, EhrTokenUses
from governance.store.cds_records import EhrTokenUse
from governance.store.migrations import upgraded_engine


def test_a_jti_is_accepted_once_per_issuer(sqlite_engine: Engine) -> None:
    uses = EhrTokenUses(sqlite_engine)
    expires = utcnow() + timedelta(minutes=5)
    assert uses.first_use("https://ehr-a", "j-1", expires)
    assert not uses.first_use("https://ehr-a", "j-1", expires)
    assert uses.first_use("https://ehr-b", "j-1", expires)  # another issuer's jti


def test_two_replicas_share_the_cache(sqlite_engine: Engine, sqlite_url: str) -> None:
    other = upgraded_engine(sqlite_url)
    try:
        expires = utcnow() + timedelta(minutes=5)
        assert EhrTokenUses(sqlite_engine).first_use("https://ehr-a", "j-2", expires)
        assert not EhrTokenUses(other).first_use("https://ehr-a", "j-2", expires)
    finally:
        other.dispose()


def test_expired_rows_are_purged_by_later_uses(sqlite_engine: Engine) -> None:
    uses = EhrTokenUses(sqlite_engine)
    long_ago = utcnow() - KEEP_AFTER_EXPIRY - timedelta(minutes=1)
    with sqlite_engine.begin() as conn:  # a row left by a token long expired
        conn.execute(
            insert(EhrTokenUse.__table__).values(  # type: ignore[attr-defined]
                token_key="0" * 64, issuer="https://ehr-a", expires_at=long_ago, used_at=long_ago
            )
        )
    assert uses.count() == 1
    uses.first_use("https://ehr-a", "new", utcnow() + timedelta(minutes=5))
    assert uses.count() == 1  # the old row is gone, the new one kept
