"""Bearer tokens: HS256 JWTs signed with the home's secret.

Claims: ``sub`` (the user name, normalised: :mod:`governance.identity.user_names`),
``role``, ``site`` (clinicians; optionally researchers), ``iat``, ``exp``, ``jti``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt

from api.errors import Unauthorized
from governance.errors import InvalidInput
from governance.identity.principal import Principal
from governance.identity.revocation import REVOKED
from governance.identity.user_names import user_name

_REQUIRED = ["sub", "role", "iat", "exp", "jti"]
_TTL = re.compile(r"^(\d+)([smhd])$")
#: Claims of tokens whose signature and claims were verified, by (key, token): a token is
#: decoded once per worker, not on every request. Everything that can change while a
#: token lives — expiry, the roles the policy knows, revocation — is still checked on every
#: request. Bounded: emptied when full.
_VERIFIED: dict[tuple[bytes, str], dict[str, Any]] = {}
_MAX_VERIFIED = 4096


def parse_ttl(text: str) -> int:
    """'8h' -> 28800 seconds."""
    match = _TTL.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError("ttl must look like 30m, 8h or 7d")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


#: Roles whose token may carry a site without needing one: a researcher bound to a site
#: may draw cohorts from its patient twins; one bound to none draws virtual cohorts only.
SITE_OPTIONAL_ROLES = frozenset({"researcher"})
SITE_ROLES_RULE = "only clinicians (and, optionally, researchers) carry a site"


def issue_token(key: bytes, user: str, role: str, site: str | None, ttl_seconds: int) -> str:
    """A token for ``user``'s normalised name (``" Dana "`` -> ``dana``); a name outside
    the user-name pattern raises :class:`~governance.errors.InvalidInput`."""
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": user_name(user),
        "role": role,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if site is not None:
        claims["site"] = site
    return jwt.encode(claims, key, algorithm="HS256")


def read_token(
    key: bytes,
    token: str,
    known_roles: frozenset[str],
    is_revoked: Callable[[str, str, datetime], bool] | None = None,
) -> Principal:
    """Verify ``token`` and return its principal, or raise :class:`Unauthorized`.

    Revocation is checked with ``is_revoked`` when it is given; a caller passing none
    checks it itself (a prediction: in the release gate's facts read).
    """
    claims = _verified_claims(key, token)
    role, sub, site = claims.get("role"), claims.get("sub"), claims.get("site")
    if not isinstance(role, str) or role not in known_roles:
        raise Unauthorized(f"unknown role {role!r}")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("the token has no subject")
    _require_user_name(sub)
    if role == "clinician":
        if not isinstance(site, str) or not site:
            raise Unauthorized("a clinician's token must carry a site")
    elif site is not None and (role not in SITE_OPTIONAL_ROLES or not isinstance(site, str)):
        raise Unauthorized(SITE_ROLES_RULE)
    jti = str(claims["jti"])
    issued = datetime.fromtimestamp(int(claims["iat"]), UTC)
    if is_revoked is not None and is_revoked(jti, sub, issued):
        raise Unauthorized(REVOKED)
    return Principal(user=sub, role=role, site=site, token_id=jti, token_issued_at=issued)


def _require_user_name(sub: str) -> None:
    """A token names its user as :func:`user_name` spells it, or is refused: one issued
    before names were normalised (``'dana '``, ``'Dana'``) could otherwise act as a second
    person beside ``dana`` (the four-eyes rule) or escape a revocation of ``dana``."""
    try:
        name = user_name(sub)
    except InvalidInput as exc:
        raise Unauthorized(f"the token's subject: {exc}; ask for a new token") from exc
    if name != sub:
        raise Unauthorized(
            f"the token names its user {sub!r}, which is not a user name as spelled now "
            f"({name!r}); ask for a new token ('twinreg token')"
        )


def _verified_claims(key: bytes, token: str) -> dict[str, Any]:
    cached = _VERIFIED.get((key, token))
    if cached is not None:
        # the check PyJWT makes on ``exp`` (no leeway); the rest cannot change
        if int(cached["exp"]) <= time.time():
            raise Unauthorized("the token has expired; ask for a new one")
        return cached
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=["HS256"], options={"require": _REQUIRED}
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("the token has expired; ask for a new one") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"the token is invalid: {exc}") from exc
    if len(_VERIFIED) >= _MAX_VERIFIED:
        _VERIFIED.clear()
    _VERIFIED[(key, token)] = claims
    return claims
