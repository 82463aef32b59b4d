"""What each kind of patient twin does with the patient's observations: one adapter per
twin kind (the card's ``kind``), the only place :mod:`api.composition.twins` learns it.

An adapter names the observation kinds it reads (a consent gap over their data categories
leaves the twin incomplete), calibrates a state from the observations (the state's body:
``status``, ``message``, ``prior_version``, ``observation_ids`` and the rest it needs to be
checked and replayed), and checks a forecast or recommendation request — at once, so a bad
request is refused before the gate runs — returning the computation to run once the gate
allows it, on the observations and the latest converged state's body.

A kind without an adapter cannot be calibrated (422 naming the model).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from governance.twins.views import Record

#: A checked request's computation: (the patient's observations, the state's body) -> body.
Compute = Callable[[Sequence[Record], Mapping[str, Any]], dict[str, Any]]


class TwinKindAdapter(Protocol):
    """What a twin of one kind does with a patient's observations."""

    #: The card's kind this adapter serves (``pk_vancomycin``).
    kind: str
    #: The observation kinds it reads (their categories are the twin's, for consent gaps).
    used_kinds: frozenset[str]

    def calibrate(self, observations: Sequence[Record]) -> dict[str, Any]:
        """A state's body from the observations: converged, or ``status == "failed"``
        (stored, never served). Data it cannot use: :class:`~governance.errors.InvalidInput`
        or the library's data error, naming the field."""
        ...

    def forecast(self, body: Mapping[str, Any]) -> Compute:
        """Check a forecast request now (:class:`~governance.errors.InvalidInput` naming the
        field); the computation once the gate allows it."""
        ...

    def recommendation(self, body: Mapping[str, Any], time_zone: ZoneInfo) -> Compute | None:
        """Check a recommendation request now; ``None`` when the kind recommends nothing."""
        ...


_ADAPTERS: dict[str, TwinKindAdapter] = {}


def register(adapter: TwinKindAdapter) -> TwinKindAdapter:
    """Make ``adapter`` the one that serves twins of its kind."""
    _ADAPTERS[adapter.kind] = adapter
    return adapter


def adapter_for(kind: str) -> TwinKindAdapter | None:
    """The adapter of twins of ``kind``, or ``None`` when that kind cannot be calibrated."""
    _load_adapters()
    return _ADAPTERS.get(kind)


def all_adapters() -> tuple[TwinKindAdapter, ...]:
    _load_adapters()
    return tuple(_ADAPTERS[k] for k in sorted(_ADAPTERS))


def _load_adapters() -> None:
    # Each adapter module registers itself on import; listed here, once.
    import api.composition.twin_glucose
    import api.composition.twin_radiotherapy
    import api.composition.twin_vancomycin
    import api.composition.twin_windkessel  # noqa: F401
