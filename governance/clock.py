"""Time, always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC. SQLite returns naive datetimes: they were stored as UTC.

    An aware value whose instant in UTC falls before year 1 or after year 9999 (year 1
    east of UTC, year 9999 west of it) becomes the first or last instant a datetime holds:
    a validity "from the beginning" or "until the end" keeps its meaning, and no caller
    meets an :class:`OverflowError`.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if value.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)
