"""The EHR's JWT, checked as CDS Hooks 2.0 requires of a CDS Service.

Header: ``alg`` ES384 or RS384 (nothing else: no ``none``, no HMAC), ``kid`` required, an
optional ``jku`` used only when that URL is on the issuer's allow-list. Claims: ``iss`` an
allow-listed issuer, ``aud`` exactly the URL called (the public base URL + the path),
``exp`` not past and at most five minutes ahead, ``iat`` and ``jti`` present (the jti is
recorded as used by the caller once the call is let through: :mod:`api.cds.hooks`), and
``sub`` the issuer's client id when one is configured. :data:`SKEW_SECONDS` of clock skew
is tolerated on ``exp`` and ``iat``. Any failure raises :class:`EhrRefused` whose
``reason`` names the check (for the audit record only).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

from api.cds.errors import EhrRefused
from api.cds.issuers import Issuer, IssuerRegistry
from api.cds.jku import JkuKeys

ALGORITHMS = ("ES384", "RS384")
MAX_LIFETIME_SECONDS = 300
SKEW_SECONDS = 10
MAX_TOKEN_BYTES = 8192


@dataclass(frozen=True)
class VerifiedToken:
    issuer: Issuer
    jti: str
    exp: int


def _header(token: str) -> dict[str, Any]:
    if len(token) > MAX_TOKEN_BYTES:
        raise EhrRefused("token too long")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise EhrRefused(f"not a JWS compact token: {type(exc).__name__}") from exc
    if header.get("alg") not in ALGORITHMS:
        raise EhrRefused(f"alg {str(header.get('alg'))[:20]!r} is not ES384 or RS384")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise EhrRefused("no kid in the header")
    if header.get("typ") not in (None, "JWT"):
        raise EhrRefused("typ is not JWT")
    return header


def _key(issuer: Issuer, header: dict[str, Any], jku: JkuKeys) -> Any:
    kid = str(header["kid"])
    if kid not in issuer.kids:
        raise EhrRefused(f"kid {kid[:80]!r} is not allow-listed for {issuer.issuer!r}")
    url = header.get("jku")
    if url is not None:
        if not isinstance(url, str) or url not in issuer.jku:
            raise EhrRefused(f"jku {str(url)[:200]!r} is not allow-listed for {issuer.issuer!r}")
        return jku.key(url, kid)
    key = issuer.keys.get(kid)
    if key is None:
        raise EhrRefused(f"kid {kid[:80]!r} is not in {issuer.issuer!r}'s JWK Set file")
    return key


def verify(token: str, audience: str, issuers: IssuerRegistry, jku: JkuKeys) -> VerifiedToken:
    """The token's issuer, jti and exp once every check passed."""
    header = _header(token)
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise EhrRefused(f"unreadable claims: {type(exc).__name__}") from exc
    name = unverified.get("iss")
    issuer = issuers.issuer(name) if isinstance(name, str) else None
    if issuer is None:
        raise EhrRefused(f"iss {str(name)[:200]!r} is not an allow-listed issuer")
    key = _key(issuer, header, jku)
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[header["alg"]],
            audience=audience,
            issuer=issuer.issuer,
            leeway=SKEW_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.InvalidSignatureError as exc:
        raise EhrRefused("bad signature") from exc
    except jwt.InvalidAudienceError as exc:
        raise EhrRefused(f"aud is not {audience!r}") from exc
    except jwt.InvalidTokenError as exc:
        raise EhrRefused(f"{type(exc).__name__}: {exc}"[:300]) from exc
    return _checked(claims, issuer)


def _checked(claims: dict[str, Any], issuer: Issuer) -> VerifiedToken:
    exp, jti = claims["exp"], claims["jti"]
    if not isinstance(exp, int) or exp > time.time() + MAX_LIFETIME_SECONDS + SKEW_SECONDS:
        raise EhrRefused("exp is more than 5 minutes ahead")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise EhrRefused("jti must be a non-empty string of at most 256 characters")
    if issuer.client_id is not None and claims.get("sub") != issuer.client_id:
        raise EhrRefused("sub is not the issuer's client id")
    return VerifiedToken(issuer, jti, exp)
