"""A trial over real patients releases no cell below the minimum cell size, nor one
recoverable by subtraction, no minimum or maximum, no quantile with fewer than the
minimum on a side, and no arm difference that would give a suppressed cell back; a
trial over virtual patients is released whole."""

from __future__ import annotations

import json
from typing import Any

from api.composition.trial_disclosure import disclose

QUANTILES = [[0.05, 300.0], [0.25, 380.0], [0.5, 450.0], [0.75, 520.0], [0.95, 640.0]]


def _arm(name: str, n: int, hits: int) -> dict[str, Any]:
    return {
        "name": name,
        "regimen": "15 mg/kg q12h over 1 h x 6",
        "n": n,
        "outputs": [
            {
                "output": "auc24",
                "unit": "mg·h/L",
                "mean": 455.0,
                "quantiles": [list(q) for q in QUANTILES],
                "minimum": 101.5,
                "maximum": 999.25,
            }
        ],
        "attainment": [
            {
                "target": "auc24 in [400, 600]",
                "hits": hits,
                "n": n,
                "proportion": hits / n,
                "low": 0.1,
                "high": 0.9,
            }
        ],
    }


def _result(a_hits: int, b_hits: int, n: int = 40) -> dict[str, Any]:
    return {
        "level": 0.95,
        "arms": [_arm("q12h", n, a_hits), _arm("q8h", n, b_hits)],
        "comparisons": [
            {
                "arm": "q8h",
                "reference": "q12h",
                "attainment": [
                    {
                        "target": "auc24 in [400, 600]",
                        "difference": (b_hits - a_hits) / n,
                        "low": -0.1,
                        "high": 0.3,
                    }
                ],
                "median_differences": [["auc24", 40.0]],
            }
        ],
    }


def test_a_small_cell_its_complement_and_the_difference_using_it_are_suppressed() -> None:
    shown = disclose(_result(a_hits=4, b_hits=20), True, 10)
    a, b = shown["arms"]
    assert a["attainment"][0]["hits"] is None and a["attainment"][0]["proportion"] is None
    assert a["attainment"][0]["suppressed"] is True
    assert b["attainment"][0]["hits"] == 20  # 20 and 20: both published
    assert shown["comparisons"][0]["attainment"][0]["difference"] is None
    assert set(shown["disclosure"]["suppressed"]) == {
        "arms[0].attainment[0].hits",
        "arms[0].attainment[0].misses",
    }
    text = json.dumps(shown)
    assert "101.5" not in text and "999.25" not in text  # no minimum, no maximum
    # 5 % of 40 patients is 2 patients: those quantiles are dropped, the median kept
    assert [q for q, _ in a["outputs"][0]["quantiles"]] == [0.25, 0.5, 0.75]
    assert shown["comparisons"][0]["median_differences"] == [["auc24", 40.0]]


def test_a_complement_is_suppressed_even_when_it_is_large() -> None:
    shown = disclose(_result(a_hits=36, b_hits=12), True, 10)  # 4 missed in arm q12h
    assert shown["arms"][0]["attainment"][0]["hits"] is None
    assert shown["arms"][1]["attainment"][0]["hits"] == 12


def test_virtual_patients_are_released_whole() -> None:
    result = _result(a_hits=4, b_hits=20)
    shown = disclose(result, False, 10)
    assert shown["arms"] == result["arms"] and shown["disclosure"]["suppressed"] == []
