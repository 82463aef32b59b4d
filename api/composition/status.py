"""Health and info: what is up (for anyone; load balancers poll it) and what a home is.

A store that is down is named; its reason (file paths, hosts) goes to the server log only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from governance.store import migrations

if TYPE_CHECKING:
    from api.composition.service import TwinregService

_log = logging.getLogger("twinreg.service")


@dataclass(frozen=True)
class Health:
    ok: bool
    checks: dict[str, str]


def health(service: TwinregService) -> Health:
    """What is up, for anyone (load balancers poll it): a store that is down is named,
    its reason (file paths, hosts) goes to the server log only."""
    checks: dict[str, str] = {}
    ok = True
    try:
        checks["policies"] = service.policies.current().version
    except Exception as exc:
        _log.error("health: the policies cannot be read: %s", exc)
        ok, checks["policies"] = False, "unavailable: cannot be read (see the server log)"
    checks["policy_watch"] = service.policies.watch_state()
    try:
        # the head's seq (an index lookup), not count(*), which reads the whole log:
        # load balancers poll /health; `audit verify` is where the chain is checked
        checks["audit_records"] = str(service.audit.head()[0])
    except Exception as exc:
        _log.error("health: the governance database cannot be read: %s", exc)
        ok, checks["governance_db"] = False, "unavailable: cannot be read (see the server log)"
    checks["audit_checkpoints"] = service.checkpoints.state()
    return Health(ok, checks)


def info(service: TwinregService) -> dict[str, Any]:
    try:
        policy_version: str | None = service.policies.current().version
    except Exception:
        policy_version = None
    schema = migrations.status(service.engine)
    return {
        "home": str(service.settings.home),
        "governance_url": _redact(service.settings.governance_url),
        "tracking_uri": _redact(service.settings.tracking_uri),
        "artifact_root": service.settings.artifact_root,
        "policies": str(service.settings.policies_dir),
        "policy_version": policy_version,
        "schema": {
            "revision": schema.revision,
            "head": schema.head,
            "state": schema.state,
            "description": schema.describe(),
        },
        # an older schema is not read (its tables may differ): `twinreg upgrade` first
        "models": [
            {
                "name": m["name"],
                "kind": m["kind"],
                "approved_version": m["approved_version"],
                "versions": len(m["versions"]),
            }
            for m in (service.models() if schema.current else [])
        ],
    }


def _redact(url: str) -> str:
    """Hide a password in a database URL."""
    if "://" in url and "@" in url.split("://", 1)[1]:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url
