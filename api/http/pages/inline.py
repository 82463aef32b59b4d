"""A refusal shown inside the page that caused it (the form kept, the message beside it),
recorded exactly as the error pages and the API record it: the raiser's own audit record,
or one written now (:func:`api.http.refusals.record_once`)."""

from __future__ import annotations

from typing import Any

from litestar import Request

from api.http.problems import STATUS_TABLE, public_detail
from api.http.refusals import record_once


def status_of(exc: Exception) -> int:
    return next((status for kind, status, _ in STATUS_TABLE if isinstance(exc, kind)), 500)


def refusal_words(request: Request[Any, Any, Any], exc: Exception) -> tuple[str, int]:
    """The message of ``exc`` with its audit record's id, and its status."""
    status = status_of(exc)
    audit_id = record_once(request, exc, status)
    detail = public_detail(exc)
    return (f"{detail} (audit record {audit_id})" if audit_id else detail), status
