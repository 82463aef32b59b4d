"""The EHRs allowed to call the CDS Hooks services: ``TWINREG_CDS_ISSUERS`` (default
``<home>/cds-issuers.toml``), one table per issuer (the JWT's ``iss``)::

    [issuers."https://ehr.example.org"]
    site = "st-mary"                      # the site the EHR serves
    jwks = "ehr-example.jwks.json"        # its public keys (a JWK Set; relative to this file)
    kids = ["ehr-2026-01"]                # the key ids it may sign with
    jku = ["https://ehr.example.org/.well-known/jwks.json"]   # optional: allow-listed jku URLs
    client_id = "twinreg-cds"             # optional: the JWT's sub must be it
    rate_limit = 300                      # optional: hook calls per minute (else the setting)

    [issuers."https://ehr.example.org".users]
    "Practitioner/123" = { user = "dana", role = "clinician" }            # context.userId ->
    "PractitionerRole/7" = { user = "lee", role = "clinician", site = "st-mary" }  # a principal

The file (and the JWK Sets it names) is read again when its content changes. No file: no
EHR is allowed (every hook call is refused). A malformed file refuses every call too, and
the server log says why.
"""

from __future__ import annotations

import json
import logging
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jwt import PyJWKSet
from jwt.exceptions import PyJWKSetError

from api.cds.errors import EhrRefused
from governance.errors import InvalidInput
from governance.identity.principal import Principal

_log = logging.getLogger("twinreg.cds")
UNMAPPED_USER = (
    "context.userId is not mapped to a twinreg user for this EHR issuer; its administrator "
    "adds it to the issuer's [users] table"
)


class IssuerConfigError(Exception):
    """The issuers file or a JWK Set it names cannot be used (the message says why)."""


@dataclass(frozen=True)
class MappedUser:
    user: str
    role: str
    site: str


@dataclass(frozen=True)
class Issuer:
    issuer: str
    site: str
    #: kid -> the public key (a JWK Set file's), only for allow-listed kids.
    keys: Mapping[str, Any]
    kids: frozenset[str]
    jku: frozenset[str]
    client_id: str | None
    rate_limit: int | None
    users: Mapping[str, MappedUser]

    def principal(self, user_id: str, roles: frozenset[str]) -> Principal:
        """The twinreg principal ``context.userId`` is mapped to (401 otherwise)."""
        mapped = self.users.get(user_id)
        if mapped is None or mapped.role not in roles:
            why = "unmapped" if mapped is None else f"role {mapped.role!r} unknown to the policies"
            raise EhrRefused(f"context.userId {user_id[:120]!r}: {why}", UNMAPPED_USER)
        try:
            return Principal(mapped.user, mapped.role, mapped.site)
        except InvalidInput as exc:
            raise EhrRefused(f"mapped user name refused: {exc}", UNMAPPED_USER) from exc


def _users(where: str, table: object, site: str) -> dict[str, MappedUser]:
    if not isinstance(table, dict):
        raise IssuerConfigError(f"{where}.users must be a table of userId = {{user, role}}")
    users = {}
    for user_id, spec in table.items():
        if not isinstance(spec, dict) or not all(
            isinstance(spec.get(k), str) and spec[k] for k in ("user", "role")
        ):
            raise IssuerConfigError(f"{where}.users.{user_id!r} needs user and role")
        users[user_id] = MappedUser(spec["user"], spec["role"], str(spec.get("site") or site))
    return users


def _keys(where: str, path: Path, kids: frozenset[str]) -> dict[str, Any]:
    try:
        jwks = PyJWKSet.from_dict(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, PyJWKSetError) as exc:
        raise IssuerConfigError(f"{where}.jwks: {path} is not a readable JWK Set: {exc}") from exc
    return {k.key_id: k.key for k in jwks.keys if k.key_id in kids}


def _strings(where: str, value: object) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise IssuerConfigError(f"{where} must be a list of strings")
    return frozenset(value)


def _issuer(name: str, spec: object, folder: Path) -> Issuer:
    where = f"issuers.{name!r}"
    if not isinstance(spec, dict) or not isinstance(spec.get("site"), str):
        raise IssuerConfigError(f"{where} needs a site")
    kids = _strings(f"{where}.kids", spec.get("kids"))
    jku = _strings(f"{where}.jku", spec.get("jku"))
    if not kids:
        raise IssuerConfigError(f"{where}.kids must name the key ids it signs with")
    jwks = spec.get("jwks")
    if jwks is None and not jku:
        raise IssuerConfigError(f"{where} needs jwks (a JWK Set file) or jku URLs")
    keys = _keys(where, folder / str(jwks), kids) if jwks is not None else {}
    limit = spec.get("rate_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise IssuerConfigError(f"{where}.rate_limit must be a whole number of at least 1")
    client_id = spec.get("client_id")
    return Issuer(
        issuer=name,
        site=spec["site"],
        keys=keys,
        kids=kids,
        jku=jku,
        client_id=str(client_id) if client_id else None,
        rate_limit=limit,
        users=_users(where, spec.get("users", {}), spec["site"]),
    )


def parse_issuers(text: str, folder: Path) -> dict[str, Issuer]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise IssuerConfigError(f"malformed TOML: {exc}") from exc
    table = data.get("issuers", {})
    if not isinstance(table, dict):
        raise IssuerConfigError("[issuers] must be a table of issuers")
    return {name: _issuer(name, spec, folder) for name, spec in table.items()}


class IssuerRegistry:
    """The allowed issuers, read again whenever the file or a JWK Set it names changes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._seen: tuple[bytes, ...] | None = None
        self._issuers: dict[str, Issuer] = {}

    def _contents(self) -> tuple[bytes, ...]:
        try:
            main = self._path.read_bytes()
        except FileNotFoundError:
            return ()
        except OSError as exc:
            raise IssuerConfigError(f"{self._path} cannot be read: {exc}") from exc
        data = tomllib.loads(main.decode("utf-8", "replace")) if main else {}
        files = sorted(
            str(spec.get("jwks"))
            for spec in (data.get("issuers") or {}).values()
            if isinstance(spec, dict) and spec.get("jwks")
        )
        extra = []
        for name in files:
            try:
                extra.append((self._path.parent / name).read_bytes())
            except OSError:
                extra.append(b"")
        return (main, *extra)

    def issuer(self, name: str) -> Issuer | None:
        """The issuer ``name`` (None: not allowed). A file that cannot be used refuses
        every issuer (:class:`EhrRefused`; the server log says why)."""
        try:
            with self._lock:
                contents = self._contents()
                if contents != self._seen:
                    text = contents[0].decode("utf-8") if contents else ""
                    self._issuers = parse_issuers(text, self._path.parent)
                    self._seen = contents
                return self._issuers.get(name)
        except (IssuerConfigError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            _log.error("the CDS Hooks issuers file %s cannot be used: %s", self._path, exc)
            self._seen = None
            raise EhrRefused(f"the issuers file cannot be used: {exc}") from exc
