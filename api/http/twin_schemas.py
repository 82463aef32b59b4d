"""Request and response bodies of the patient twin routes (issue 14)."""

from __future__ import annotations

from typing import Any

import msgspec


class TwinIn(msgspec.Struct, forbid_unknown_fields=True):
    model: str
    purpose: str
    version: str | None = None


class TwinOut(msgspec.Struct):
    twin_id: str
    model: str
    model_version: str
    purpose: str
    state: int
    status: str
    audit_id: str


class ObservationsIn(msgspec.Struct, forbid_unknown_fields=True):
    #: Each: id, source, kind, time (RFC 3339 with a zone), value + unit, value (coded
    #: kinds) or components, optional code: see policies/observation_kinds.toml.
    observations: list[dict[str, Any]]
    #: The purpose whose consent is judged (default: that of each active twin).
    purpose: str | None = None


class ObservationsOut(msgspec.Struct):
    stored: list[str]
    already_stored: list[str]
    audit_id: str


class ForecastIn(msgspec.Struct, forbid_unknown_fields=True):
    """A forecast from ``start`` over ``horizon_h``. A vancomycin twin's regimen is
    ``dose_mg`` every ``interval_h`` for ``n_doses``; the other twins' plan is ``scenario``:
    planned events in the observations' schema (meals, insulin, radiotherapy fractions),
    checked against the kind table and never stored as observations."""

    start: str
    horizon_h: float = 48.0
    dose_mg: float | None = None
    interval_h: float | None = None
    n_doses: int | None = None
    scenario: list[dict[str, Any]] | None = None


class RecommendationIn(msgspec.Struct, forbid_unknown_fields=True):
    target: dict[str, list[float]] = msgspec.field(
        default_factory=lambda: {"auc24": [400.0, 600.0]}
    )
    intervals_h: list[float] = msgspec.field(default_factory=lambda: [8.0, 12.0, 24.0])
    dose_step_mg: float = 250.0
    max_daily_mg: float = 4000.0
    #: false, true (25 mg/kg) or mg/kg in [20, 35].
    loading: bool | float = False
    #: The first dose's time (RFC 3339 with a zone); default: when the next dose is due.
    start: str | None = None


class RecordOut(msgspec.Struct):
    """A state, forecast or recommendation (``body``), with what it used and its audit."""

    id: str
    kind: str
    at: str
    audit_id: str
    body: dict[str, Any]
    number: int | None = None
    status: str | None = None


class ThreadOut(msgspec.Struct):
    twin_id: str
    model: str
    model_version: str
    purpose: str
    state: int
    status: str
    audit_id: str
    records: list[RecordOut]


class MoveIn(msgspec.Struct, forbid_unknown_fields=True):
    """Move a twin to the approved version of its model (or ``version``, which must be
    approved), with the clinician's ``reason``."""

    reason: str
    version: str | None = None


class MoveOut(msgspec.Struct):
    """The twin on its new version, its first state there, and the move (its audit)."""

    twin: TwinOut
    state: RecordOut
    move: RecordOut


class EraseIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class EraseOut(msgspec.Struct):
    erased: bool
    audit_id: str


class ConsentGapIn(msgspec.Struct, forbid_unknown_fields=True):
    """A clinician's confirmation of one consent gap: its ``start`` (RFC 3339, as the 409
    of an incomplete twin names it) and ``filled`` or ``empty``."""

    start: str = msgspec.field()
    resolution: str = msgspec.field()


class ConsentGapOut(msgspec.Struct):
    twin_id: str
    start: str
    end: str
    categories: list[str]
    resolution: str
    open_gaps: int
    audit_id: str
