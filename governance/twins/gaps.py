"""Consent gaps of a patient twin (issue 14): when a consent covering the twin's data was
withdrawn (or expired) and a consent was granted again, observations were refused in
between — a dose missing from the course biases the estimated clearance. Such a twin is
*incomplete* until a clinician confirms each gap ``filled`` (what happened in it has been
sent since: at least one observation is timed inside it) or ``empty`` (nothing happened
in it: no observation is timed inside it), each confirmation audited.

A gap is computed, not stored: from the patient's consent rows for the twin's purpose, the
time since the twin was created during which some category the twin uses was covered by
no consent (a consent covers from ``max(granted_at, valid_from)`` until the first of
``withdrawn_at`` and ``valid_until``), that has ended (coverage came back). A gap still
open — no consent now — needs no mark: ingestion and every release are refused by consent
itself.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select

from governance.audit.chain import AuditLog
from governance.clock import as_utc, utcnow
from governance.errors import Conflict, InvalidInput
from governance.identity.principal import Principal
from governance.store.db import read_connection
from governance.store.records import Consent
from governance.store.twin_records import TwinConsentGap
from governance.twins.views import TwinView

_consent = Consent.__table__  # type: ignore[attr-defined]
_gap = TwinConsentGap.__table__  # type: ignore[attr-defined]
RESOLUTIONS = ("filled", "empty")


@dataclass(frozen=True)
class Gap:
    """Categories of the twin's data uncovered by consent over ``[start, end)``."""

    start: datetime
    end: datetime
    categories: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()} ({', '.join(self.categories)})"


def _covered(rows: Iterable[object], category: str) -> list[tuple[datetime, datetime | None]]:
    spans = []
    for row in rows:
        if category not in json.loads(row.data_categories):  # type: ignore[attr-defined]
            continue
        begin = as_utc(row.granted_at)  # type: ignore[attr-defined]
        if row.valid_from is not None:  # type: ignore[attr-defined]
            begin = max(begin, as_utc(row.valid_from))  # type: ignore[attr-defined]
        ends = [as_utc(v) for v in (row.withdrawn_at, row.valid_until) if v is not None]  # type: ignore[attr-defined]
        spans.append((begin, min(ends) if ends else None))
    return sorted(spans, key=lambda s: s[0])


def _holes(
    spans: Sequence[tuple[datetime, datetime | None]], since: datetime, now: datetime
) -> list[tuple[datetime, datetime]]:
    """Ended stretches of ``[since, now]`` that no span covers."""
    holes, reached = [], since
    for begin, end in spans:
        if begin > reached and reached < now:
            holes.append((reached, min(begin, now)))
        if end is None:
            return [h for h in holes if h[1] < now]
        reached = max(reached, end)
    return [h for h in holes if h[1] < now]  # after the last span: still open, not a gap


def consent_gaps(
    conn: Connection, twin: TwinView, categories: Iterable[str], now: datetime
) -> list[Gap]:
    """Every ended consent gap of ``twin`` (its purpose, the ``categories`` it uses)."""
    rows = conn.execute(
        select(_consent).where(
            _consent.c.patient_key == twin.patient_key, _consent.c.purpose == twin.purpose
        )
    ).all()
    found: dict[tuple[datetime, datetime], list[str]] = {}
    for category in sorted(set(categories)):
        for hole in _holes(_covered(rows, category), twin.created_at, now):
            found.setdefault(hole, []).append(category)
    return [Gap(s, e, tuple(c)) for (s, e), c in sorted(found.items())]


class ConsentGaps:
    """Open gaps of a twin, and a clinician's confirmations of them."""

    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit

    def open_gaps(self, twin: TwinView, categories: Iterable[str]) -> list[Gap]:
        with read_connection(self._engine) as conn:
            return self._open(conn, twin, categories)

    def _open(self, conn: Connection, twin: TwinView, categories: Iterable[str]) -> list[Gap]:
        confirmed = {
            as_utc(r.gap_start)
            for r in conn.execute(select(_gap.c.gap_start).where(_gap.c.twin_id == twin.id))
        }
        gaps = consent_gaps(conn, twin, categories, utcnow())
        return [g for g in gaps if g.start not in confirmed]

    def confirm(
        self,
        principal: Principal,
        twin: TwinView,
        categories: Iterable[str],
        start: datetime,
        resolution: str,
        observed_in_gap: Sequence[datetime],
        audit: Mapping[str, object],
    ) -> tuple[Gap, int, str]:
        """Record ``resolution`` for the open gap starting at ``start`` (one transaction
        with its ``twin.gap.confirm`` record). ``observed_in_gap``: the times of the
        patient's observations. Returns the gap, the gaps still open, the record id."""
        if resolution not in RESOLUTIONS:
            raise InvalidInput(f"resolution must be one of {list(RESOLUTIONS)}", field="resolution")
        categories = tuple(categories)
        with self._engine.begin() as conn:
            gaps = self._open(conn, twin, categories)
            gap = next((g for g in gaps if g.start == as_utc(start)), None)
            if gap is None:
                listed = "; ".join(g.describe() for g in gaps) or "none"
                raise InvalidInput(
                    f"start: no open consent gap of this twin starts then; open gaps: {listed}",
                    field="start",
                )
            inside = sum(1 for t in observed_in_gap if gap.start <= as_utc(t) < gap.end)
            if resolution == "filled" and not inside:
                raise InvalidInput(
                    "resolution: no observation is timed inside the gap: send what happened "
                    "in it, or confirm it empty",
                    field="resolution",
                )
            if resolution == "empty" and inside:
                raise Conflict(
                    f"{inside} observation(s) are timed inside the gap: it is not empty; "
                    "confirm it filled once everything in it has been sent"
                )
            body = {**audit, "gap_start": gap.start, "gap_end": gap.end,
                    "categories": list(gap.categories), "resolution": resolution}  # fmt: skip
            record = self._audit.append("twin.gap.confirm", body, conn=conn)
            conn.execute(
                insert(_gap).values(
                    id=str(uuid.uuid4()), twin_id=twin.id, gap_start=gap.start,
                    gap_end=gap.end, resolution=resolution, confirmed_at=utcnow(),
                    confirmed_by=principal.user, audit_id=record.record_id,
                )
            )  # fmt: skip
        return gap, len(gaps) - 1, record.record_id
