"""Consent gaps as computed from coverage spans (issue 14): ended stretches since the twin
was created that no consent covered; a stretch still open at ``now`` is not a gap (consent
itself refuses everything then)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from governance.twins.gaps import _holes

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=10)


def d(days: float) -> datetime:
    return T0 + timedelta(days=days)


@pytest.mark.parametrize(
    ("spans", "holes"),
    [
        ([(d(0), None)], []),  # covered throughout
        ([(d(0), d(2)), (d(3), None)], [(d(2), d(3))]),  # withdrawn, granted again
        ([(d(0), d(2)), (d(1), d(4)), (d(5), None)], [(d(4), d(5))]),  # overlapping
        ([(d(0), d(8)), (d(1), d(2)), (d(9), None)], [(d(8), d(9))]),  # nested
        ([(d(0), d(2))], []),  # withdrawn and never granted again: open, not a gap
        ([(d(0), d(2)), (d(3), d(4))], [(d(2), d(3))]),  # the second lapsed too: open
        ([(d(0), d(2)), (d(11), None)], []),  # granted again only from a future time
        ([(d(0), d(1)), (d(2), d(3)), (d(4), None)], [(d(1), d(2)), (d(3), d(4))]),
    ],
)  # fmt: skip
def test_holes_are_the_ended_uncovered_stretches(
    spans: list[tuple[datetime, datetime | None]], holes: list[tuple[datetime, datetime]]
) -> None:
    assert _holes(spans, T0, NOW) == holes
