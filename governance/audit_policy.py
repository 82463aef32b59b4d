"""The policy version in the audit chain: stamped on every record, and each change recorded.

Every record carries the policy version it was made under (a decision brings its own: the
version its checks ran under; any other record gets the version served when it is
written). The chain also records when the version in force changes: before the first
record a writer appends while serving a version other than the one the chain last
recorded, it appends ``policy.change`` (``from``, ``to``), in the same transaction.

Several writers (threads, workers) notice a change at different moments. So that a writer
whose view is merely stale never records a change back, a writer that disagrees with the
chain re-reads the policies before recording anything: only a version actually in force
on disk (or, at scale, in the database) is recorded. The check runs under the chain's
lock; it costs a query only when another writer appended since this one's last record or
this writer's version moved.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from governance.canonical import canonical_json
from governance.policy import PolicyStore

#: The action recorded before the first record made under a new policy version.
POLICY_CHANGE = "policy.change"

#: (seq, hash) of the chain's head.
Head = tuple[int, str]


class PolicyTracker:
    """What one writer knows of the policy version the chain last recorded.

    Its state changes only under the chain's lock; the head is identified by seq and
    hash, so a record that was rolled back never passes for the head.
    """

    def __init__(self, policies: PolicyStore) -> None:
        self._policies = policies
        self._chain_version: str | None = None
        self._last_head: Head | None = None

    def served(self, fresh: bool = False) -> str | None:
        """The version this writer serves (re-read from the files when ``fresh``); None
        while the policies cannot be read."""
        try:
            if fresh:
                self._policies.invalidate()
            return self._policies.current().version
        except Exception:  # unreadable policies: records say so, no change is recorded
            return None

    def stamp(self, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """``payload`` with the version it was made under: its own, else the served one."""
        if "policy_version" in payload:
            return payload
        return {**payload, "policy_version": self.served()}

    def change_due(self, head: Head | None, last_change: Callable[[], str | None]) -> str | None:
        """Under the chain's lock, before a record is inserted after ``head``: the payload
        (canonical JSON) of the ``policy.change`` record to insert first, if any.

        ``last_change`` reads the body of the chain's latest ``policy.change`` record.
        """
        served = self.served()
        if served is None:
            return None
        if head is not None and head == self._last_head and served == self._chain_version:
            return None  # nobody else appended since this writer did, under this version
        previous = _to_of(last_change())
        if previous != served:
            served = self.served(fresh=True)  # a stale view must not undo a recorded change
        if served is None or previous == served:
            self._chain_version = previous
            return None
        self._chain_version = served
        return canonical_json({"from": previous, "policy_version": served, "to": served})

    def wrote(self, head: Head) -> None:
        """Under the chain's lock: this writer's record is the head now."""
        self._last_head = head


def _to_of(body: str | None) -> str | None:
    """The version a ``policy.change`` body moved to; None for none, or for a body that
    cannot be read (an edited record is :func:`~governance.audit_log.verify`'s to name;
    writing goes on, recording the version in force as a change from unknown)."""
    if body is None:
        return None
    try:
        to = json.loads(body)["payload"]["to"]
    except (ValueError, KeyError, TypeError):
        return None
    return to if isinstance(to, str) else None
