"""What the twin bank hands out: a patient twin's view and an opened record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governance.clock import as_utc


@dataclass(frozen=True)
class TwinView:
    id: str
    patient_key: str
    site: str
    model: str
    model_version: str
    purpose: str
    state: int
    status: str
    created_at: datetime
    audit_id: str


@dataclass(frozen=True)
class Record:
    """A stored observation, state or output, opened: ``body`` is its sealed content."""

    id: str
    kind: str
    at: datetime
    audit_id: str
    body: dict[str, Any]
    number: int | None = None
    status: str | None = None


def twin_view(row: Any) -> TwinView:
    return TwinView(
        row.id,
        row.patient_key,
        row.site,
        row.model,
        row.model_version,
        row.purpose,
        row.state,
        row.status,
        as_utc(row.created_at),
        row.audit_id,
    )
