"""The calibrated state's parameters as a clinician reads them: each label in words, with
its conventional symbol at most once (never the code name, never a word repeated), the unit
beside the value and its interval, not in the label."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from api.http.pages.twin_view import PARAMETERS, state_lines
from governance.twins.views import Record


def _state(kind: str) -> Record:
    names = list(PARAMETERS[kind])
    body = {
        "posterior": {"parameters": [[n, 0.5] for n in names], "sd": [0.1, 0.1, 0.1]},
        "observation_ids": [],
    }
    at = datetime(2026, 3, 1, tzinfo=UTC)
    return Record("s-1", "state", at, "a-1", body, number=1, status="converged")


@pytest.mark.parametrize("kind", sorted(PARAMETERS))
def test_each_parameter_label_reads_in_words_once(kind: str) -> None:
    for line, (name, parameter) in zip(
        state_lines(_state(kind), kind), PARAMETERS[kind].items(), strict=True
    ):
        words = re.findall(r"[\w²³/·]+", line.what.lower())
        assert len(words) == len(set(words)), line.what  # nothing said twice
        if "_" in name:
            assert name not in line.what, line.what  # a code name is not a label
        assert parameter.unit not in line.what, line.what
        assert line.value.endswith(parameter.unit), line.value


def test_radiosensitivity_is_named_in_words_with_its_symbol_once() -> None:
    lines = {line.what: line for line in state_lines(_state("radiotherapy"), "radiotherapy")}
    assert "radiosensitivity, linear term (\u03b1)" in lines, list(lines)
    assert "radiosensitivity, quadratic term (\u03b2 = \u03b1/10)" in lines, list(lines)
    assert "tumour volume at the course's start" in lines, list(lines)
    assert lines["radiosensitivity, linear term (\u03b1)"].value == "0.5 1/Gy"
