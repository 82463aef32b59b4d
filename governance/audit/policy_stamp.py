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
this writer's version moved. A record stamped here (one without its own version) is
stamped again under the lock when the writer's view moved meanwhile, so it never
contradicts the change recorded just before it.

:class:`PolicyStamp` is the chain's :class:`~governance.audit.hook.AppendHook` that does
all this; the chain itself knows nothing of policies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from governance.audit.hook import Head, LastBody
from governance.canonical import canonical_json
from governance.policy.store import PolicyStore

#: The action recorded before the first record made under a new policy version.
POLICY_CHANGE = "policy.change"


class PolicyStamp:
    """The chain's append hook: every record stamped with its policy version, and a
    ``policy.change`` record inserted first when the version in force moved."""

    def __init__(self, policies: PolicyStore) -> None:
        self._tracker = PolicyTracker(policies)

    def prepare(self, payload: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
        return self._tracker.stamp(payload)

    def under_lock(
        self, head: Head | None, last_body: LastBody, payload: Mapping[str, Any], changed: bool
    ) -> tuple[tuple[str, str] | None, Mapping[str, Any] | None]:
        change = self._tracker.change_due(head, lambda: last_body(POLICY_CHANGE))
        again = self._tracker.restamp(payload) if changed else None
        return (None if change is None else (POLICY_CHANGE, change)), again

    def appended(self, head: Head) -> None:
        self._tracker.wrote(head)


class PolicyTracker:
    """What one writer knows of the policy version the chain last recorded.

    Its state changes only under the chain's lock; the head is identified by seq and
    hash, so a record that was rolled back never passes for the head.
    """

    def __init__(self, policies: PolicyStore) -> None:
        self._policies = policies
        #: The chain's version as of ``_last_head`` (both set only after a write succeeded).
        self._chain_version: str | None = None
        self._last_head: Head | None = None
        #: The chain's version once the record being written is in (between the two calls).
        self._pending: str | None = None

    def served(self, check_now: bool = False) -> str | None:
        """The version this writer serves (the policies' stamps compared first when
        ``check_now``); None while the policies cannot be read."""
        try:
            policies = self._policies.check_now() if check_now else self._policies.current()
        except Exception:  # unreadable policies: records say so, no change is recorded
            return None
        return policies.version

    def stamp(self, payload: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
        """``payload`` with the version it was made under: its own, else the served one;
        and whether it was stamped here (then :meth:`restamp` may correct it)."""
        if "policy_version" in payload:
            return payload, False
        return {**payload, "policy_version": self.served()}, True

    def restamp(self, stamped: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """Under the lock, after :meth:`change_due`: ``stamped`` with the version the chain
        is now at, when the writer's view moved since it was stamped (else None)."""
        pending = self._pending
        if pending is None or stamped.get("policy_version") == pending:
            return None
        return {**stamped, "policy_version": pending}

    def change_due(self, head: Head | None, last_change: Callable[[], str | None]) -> str | None:
        """Under the chain's lock, before a record is inserted after ``head``: the payload
        (canonical JSON) of the ``policy.change`` record to insert first, if any.

        ``last_change`` reads the body of the chain's latest ``policy.change`` record.
        Nothing is remembered until :meth:`wrote`: a write that fails leaves no trace.
        """
        self._pending = None
        served = self.served()
        if served is None:
            return None
        if head is not None and head == self._last_head and served == self._chain_version:
            self._pending = served  # nobody else appended since this writer did
            return None
        previous = _to_of(last_change())
        if previous != served:
            served = self.served(check_now=True)  # a stale view must not undo a change
        if served is None:
            return None
        self._pending = served
        if previous == served:
            return None
        return canonical_json({"from": previous, "policy_version": served, "to": served})

    def wrote(self, head: Head) -> None:
        """Under the chain's lock: this writer's record is the head now. The shortcut of
        :meth:`change_due` is trusted only after a write whose version was known."""
        if self._pending is None:
            self._last_head = self._chain_version = None
        else:
            self._last_head, self._chain_version = head, self._pending


def _to_of(body: str | None) -> str | None:
    """The version a ``policy.change`` body moved to; None for none, or for a body that
    cannot be read (an edited record is :func:`~governance.audit.chain.verify`'s to name;
    writing goes on, recording the version in force as a change from unknown)."""
    if body is None:
        return None
    try:
        to = json.loads(body)["payload"]["to"]
    except (ValueError, KeyError, TypeError):
        return None
    return to if isinstance(to, str) else None
