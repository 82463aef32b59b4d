"""policies/research.toml: read with the other policy files, parsed whole, every fault
named (a malformed file withholds everything, like any other policy file)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from governance.errors import PolicyError
from governance.policy.research import parse_research
from governance.policy.store import PolicySet

REPO = Path(__file__).resolve().parents[3]


def test_the_shipped_rules() -> None:
    rules = PolicySet(REPO / "policies").research
    assert rules.min_cell_size == 10
    assert rules.max_virtual_cohort_size >= 1_000_000


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "[cohorts] is required"),
        ("[cohorts]\nmin_cell_size = 1\nmax_virtual_cohort_size = 5\n"
         "max_patient_cohort_size = 5\n", "cohorts.min_cell_size"),
        ("[cohorts]\nmin_cell_size = 10\nmax_virtual_cohort_size = 5\n"
         "max_patient_cohort_size = 5\nk = 3\n", "cohorts.k is not a setting"),
        ("[cohorts]\nmin_cell_size = 10\nmax_virtual_cohort_size = 5\n", "max_patient_cohort"),
        ("[cells]\n", "cells is not a table"),
        ("[cohorts", "not valid TOML"),
    ],
)  # fmt: skip
def test_faults_are_named(text: str, named: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(named)):
        parse_research(text)
