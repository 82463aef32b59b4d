"""The records of decisions that never reached the checks: a request refused for bad
input, and a decision withheld because the governance store failed while its facts were
read. Both are audited; neither releases anything."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from governance.audit.chain import AuditLog
from governance.errors import AuditWriteError, TokenRevoked
from governance.identity.principal import Principal
from governance.identity.revocation import REVOKED
from governance.release.decision import CheckOutcome, FactsReader
from governance.store.db import STORE_ERRORS

_log = logging.getLogger("twinreg.gate")
#: What a decision's record and the client are told of a failing governance store.
STORE_OUTAGE = "the governance store could not be read: nothing was released"
_RECORD_FAILURES: tuple[type[Exception], ...] = (AuditWriteError, *STORE_ERRORS)


def record_refusal(
    audit: AuditLog,
    facts: FactsReader,
    principal: Principal | None,
    action: str,
    details: Mapping[str, Any],
) -> str:
    """Audit a request refused for bad input (nothing else is written).

    Revocation comes before input: a request refused before its facts were read (where a
    prediction reads its token's revocation) reads it here first, and a revoked token
    raises :class:`TokenRevoked` — nothing is recorded under it but the caller's record of
    that refusal."""
    if facts.token_revoked(principal):
        raise TokenRevoked(REVOKED)
    body = {
        "principal": principal.to_audit() if principal else None,
        "decision": "refused",
        **details,
    }
    return audit.append(action + ".refused", body).record_id


def record_store_outage(
    audit: AuditLog,
    principal: Principal,
    patient_key: str,
    model: str,
    purpose: str,
    action: str,
) -> str | None:
    """The withheld decision ``action`` would have made, when its facts could not be read;
    its audit id, or None when the audit log cannot be written either."""
    body = {
        "principal": principal.to_audit(),
        "patient": patient_key,
        "purpose": purpose,
        "model": model,
        "model_version": None,
        "decision": "withheld",
        "checks": [CheckOutcome("store", False, STORE_OUTAGE).to_dict()],
        "policy_version": None,
        "input_digest": None,
        "output_digest": None,
        "warnings": [],
    }
    try:
        return audit.append(action, body).record_id
    except _RECORD_FAILURES as failed:
        _log.error("the withheld decision could not be recorded either: %s", failed)
        return None
