"""A forecast's ``scenario``: planned events in the observations' entry schema, checked
against the policy's kind table like observations (units converted to the stored ones,
bounds, codes), never stored. ``id`` and ``source`` may be left out (``plan-<i>``,
``scenario``). A fault is :class:`~governance.errors.InvalidInput` naming the entry and
field as ``scenario[2].components.carbs.value``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governance.errors import InvalidInput
from governance.policy.observation_kinds import ObservationKind
from governance.twins.entries import MAX_OBSERVATIONS, check_entry

SOURCE = "scenario"


def checked_scenario(
    request: Mapping[str, Any], kinds: Mapping[str, ObservationKind]
) -> dict[str, Any]:
    """The request with its scenario's entries checked and in stored units (their
    canonical content); a request without a scenario unchanged."""
    raw = request.get("scenario")
    if raw is None:
        return dict(request)
    if not isinstance(raw, list) or len(raw) > MAX_OBSERVATIONS:
        raise InvalidInput(
            f"scenario must be a list of at most {MAX_OBSERVATIONS} planned events",
            field="scenario",
        )
    entries = []
    for i, item in enumerate(raw):
        filled = item
        if isinstance(item, dict):
            filled = {"id": f"plan-{i}", "source": SOURCE, **item}
        try:
            entry, _ = check_entry(i, filled, kinds)
        except InvalidInput as exc:
            field = (exc.field or "observations").replace("observations", "scenario", 1)
            message = str(exc).replace("observations", "scenario", 1)
            raise InvalidInput(message, field=field) from exc
        entries.append(entry.content())
    return {**request, "scenario": entries}
