"""A forecast's ``scenario``: planned events in the observations' entry schema, checked
against the policy's kind table exactly as observations are (units converted to the
stored ones, bounds, codes), and never stored. ``id`` and ``source`` may be left out
(``scenario-<i>``, ``scenario``); a fault is :class:`~governance.errors.InvalidInput`
naming ``scenario[i].<field>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governance.errors import InvalidInput
from governance.policy.observation_kinds import ObservationKind
from governance.twins.entries import check_entries


def checked_scenario(raw: object, kinds: Mapping[str, ObservationKind]) -> list[dict[str, Any]]:
    """The scenario's entries, checked and in stored units (each as ``Entry.content()``)."""
    if not isinstance(raw, list):
        raise InvalidInput("scenario must be a list of planned events", field="scenario")
    if not raw:
        raise InvalidInput("scenario is empty: leave it out, or plan an event", field="scenario")
    entries = [
        {"id": f"scenario-{i}", "source": "scenario", **e} if isinstance(e, dict) else e
        for i, e in enumerate(raw)
    ]
    try:
        checked = check_entries(entries, kinds)
    except InvalidInput as exc:
        field = (exc.field or "scenario").replace("observations", "scenario", 1)
        message = str(exc).replace("observations", "scenario", 1)
        raise InvalidInput(message, field=field) from exc
    return [e.content() for e in checked]
