"""policies/recalibration.toml: parsed whole, every fault named; the rule's arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.errors import PolicyError
from governance.policy.recalibration import Recalibration, parse_recalibration

REPO = Path(__file__).resolve().parents[3]


def test_the_shipped_file_parses() -> None:
    rules = parse_recalibration((REPO / "policies" / "recalibration.toml").read_text())
    assert rules["pk_vancomycin"] == Recalibration("pk_vancomycin", 1, None)
    assert rules["glucose_t1d"] == Recalibration("glucose_t1d", 12, 60.0)


@pytest.mark.parametrize(
    "text,words",
    [
        ("[kinds.x]\n", "give every_readings, every_minutes or both"),
        ("[kinds.x]\nevery_readings = 0\n", "at least 1"),
        ("[kinds.x]\nevery_readings = 1.5\n", "whole number"),
        ("[kinds.x]\nevery_minutes = -1\n", "positive"),
        ("[kinds.x]\nevery_minutes = true\n", "positive"),
        ("[kinds.x]\nevery_hours = 1\n", "every_hours is not a setting"),
        ("[other]\n", "other: is not a table"),
        ("[kinds\n", "not valid TOML"),
    ],
)
def test_faults_are_named(text: str, words: str) -> None:
    with pytest.raises(PolicyError, match=words):
        parse_recalibration(text)


def test_due_by_readings_or_by_minutes_never_without_a_reading() -> None:
    rule = Recalibration("glucose_t1d", 12, 60.0)
    assert not rule.due(11, 59.0) and rule.due(12, 0.0) and rule.due(1, 60.0)
    assert not rule.due(0, 600.0)
    assert not Recalibration("k", None, 5.0).due(100, 4.9)
    assert not Recalibration("k", 3, None).due(2, 1e9)
