"""The seam through which the chain lets one collaborator act around each append (the
policy-version stamp, :mod:`governance.audit.policy_stamp`): the chain itself stays the
chain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

#: (seq, hash) of the chain's head.
Head = tuple[int, str]
#: Reads the body of the chain's latest record with a given action (None: there is none).
LastBody = Callable[[str], str | None]


class AppendHook(Protocol):
    """What the chain calls around one append (the policy-version stamp is one)."""

    def prepare(self, payload: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
        """Before the lock: the payload to record, and whether the hook changed it."""
        ...

    def under_lock(
        self, head: Head | None, last_body: LastBody, payload: Mapping[str, Any], changed: bool
    ) -> tuple[tuple[str, str] | None, Mapping[str, Any] | None]:
        """Under the chain's lock: a record (action, canonical payload JSON) to insert
        first, if any, and the payload to record instead, if it must change."""
        ...

    def appended(self, head: Head) -> None:
        """Under the lock, after the insert: the record just written is the head."""
        ...
