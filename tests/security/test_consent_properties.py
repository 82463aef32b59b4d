"""Property test: random consent histories, checked against an obviously-correct reference.

Each example registers a fresh patient, applies a random history of grants (purposes,
data categories, validity periods) and withdrawals through the real service, then asks
the real gate for a prediction. The decision must equal the reference evaluator's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.cli.demo import CLINICIAN, SITE
from tests.api.helpers import features_of, twin_named

M = "whas500-mortality"
PURPOSES = ["treatment", "research", "quality-improvement"]
CATEGORIES = ["demographics", "vitals", "history", "labs"]
OFFSETS = [None, -30, -1, 1, 30]  # days from now


@dataclass(frozen=True)
class Grant:
    purpose: str
    categories: frozenset[str]
    start: int | None
    end: int | None
    withdrawn: bool


grants = st.builds(
    Grant,
    purpose=st.sampled_from(PURPOSES),
    categories=st.frozensets(st.sampled_from(CATEGORIES), min_size=1),
    start=st.sampled_from(OFFSETS),
    end=st.sampled_from(OFFSETS),
    withdrawn=st.booleans(),
).filter(lambda g: g.start is None or g.end is None or g.start < g.end)


def reference(history: list[Grant], purpose: str, needed: frozenset[str]) -> bool:
    """Released iff the union of the categories of the consents for this purpose that
    are not withdrawn and valid now covers everything the model reads."""
    covered: set[str] = set()
    for g in history:
        valid = (g.start is None or g.start <= 0) and (g.end is None or g.end > 0)
        if g.purpose == purpose and not g.withdrawn and valid:
            covered |= g.categories
    return needed <= covered


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(grants, max_size=5), purpose=st.sampled_from(PURPOSES))
def test_gate_matches_reference(
    service: Any, demo_twins: list[Any], history: list[Grant], purpose: str
) -> None:
    twin = twin_named(demo_twins, M)
    patient = f"prop-{uuid.uuid4().hex[:10]}"
    service.patients.register(CLINICIAN, patient, SITE)
    now = datetime.now(UTC)

    def at(offset: int | None) -> datetime | None:
        return None if offset is None else now + timedelta(days=offset)

    for g in history:
        view = service.patients.grant(
            CLINICIAN, patient, g.purpose, sorted(g.categories), at(g.start), at(g.end)
        )
        if g.withdrawn:
            service.patients.withdraw(CLINICIAN, patient, view.id)
    decision = service.predictions.predict(CLINICIAN, M, patient, purpose, features_of(twin))
    expected = reference(history, purpose, frozenset(twin.card.data_categories))
    assert decision.released == expected, (history, purpose, decision.reasons)
    if not expected:
        assert decision.reasons[0]["check"] == "consent"
