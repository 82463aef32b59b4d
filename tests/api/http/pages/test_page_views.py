"""What the validator pages make of stored evidence, without a server: numbers people
read, change control row by row, bias-audit groups by label beside their thresholds."""

from __future__ import annotations

import math
from typing import Any

import pytest

from api.http.pages.bias_view import attribute_views, group_name
from api.http.pages.change_control_view import card_changes, change_rows
from api.http.pages.numbers import interval, number, percent, signed
from tests.governance.dossier_evidence import estimate


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.8770161290322580, "0.877"),
        (59.21844725934689, "59.2"),
        (2.5077419005411596, "2.51"),
        (1204.4, "1,204"),
        (1.852167014895831e-15, "1.9e-15"),
        (30.0, "30"),
        (0, "0"),
        (None, "—"),
        (math.nan, "—"),
        (math.inf, "—"),
        ("n/a", "n/a"),
    ],
)
def test_numbers_have_a_few_significant_digits(value: Any, shown: str) -> None:
    assert number(value) == shown


def test_signed_intervals_and_percentages() -> None:
    assert signed(0.0123) == "+0.012" and signed(-0.0213) == "-0.021" and signed(0.0) == "0"
    assert interval(estimate(0.1, -0.0213, 0.0311), sign=True) == "[-0.021, +0.031]"
    assert interval({"estimate": 1.0, "low": None, "high": None}) == ""
    assert percent(0.95) == "95 %"


def _change(bound: float, passed: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    change = {
        "approved_version": "1",
        "metrics": {
            "method": "paired bootstrap on the candidate's evaluation set",
            "deltas": {
                "brier": {
                    "approved": estimate(0.15, 0.12, 0.18),
                    "candidate": estimate(0.17, 0.14, 0.2),
                    "difference": estimate(0.02, 0.005, 0.035),
                },
                "auc": {
                    "approved": estimate(0.861, 0.81, 0.917),
                    "candidate": estimate(0.84, 0.79, 0.9),
                    "difference": estimate(-0.021, bound, 0.01),
                },
            },
        },
        "headline": {
            "metric": "auc",
            "bound": bound,
            "bound_name": "lower bound of the paired difference",
        },
        "card": {
            "features": {
                "added": ["lactate"],
                "removed": [],
                "changed": [{"feature": "bp", "changes": {"unit": ["mmHg", "kPa"]}}],
            },
            "envelope": [
                {
                    "feature": "age",
                    "approved": [30.0, 90.0],
                    "candidate": [18.0, 95.0],
                    "change": "widened",
                }
            ],
            "sensitive_attributes": {"added": [], "removed": []},
            "intended_purposes": {"added": ["research"], "removed": []},
            "data_categories": {"added": [], "removed": []},
            "other": {"threshold": [0.5, 0.4]},
        },
    }
    finding = {"evidence": "change_control", "value": bound, "limit": -0.05, "passed": passed}
    return change, [finding]


def test_change_control_puts_the_judged_metric_first_with_the_dossiers_verdict() -> None:
    rows = change_rows(*_change(-0.041, True))
    assert [r["metric"] for r in rows] == ["AUC", "Brier score"]
    auc, brier = rows
    assert auc["judged"] and auc["ok"] is True
    assert auc["verdict"] == "non-inferior: lower bound of the paired difference -0.041 ≥ -0.050"
    assert (
        brier["ok"] is False and brier["verdict"] == "credibly worse (not judged)"
    )  # higher Brier
    failing = change_rows(*_change(-0.08, False))[0]
    assert failing["ok"] is False and failing["verdict"].startswith("inferior:")


def test_card_changes_are_listed_in_words() -> None:
    lines = {c["what"]: c["change"] for c in card_changes(_change(0, True)[0]["card"])}
    assert lines == {
        "feature lactate": "added",
        "feature bp": "unit mmHg → kPa",
        "validated envelope of age": "widened: 30 to 90 → 18 to 95",
        "intended purposes": "added: research",
        "threshold": "0.5 → 0.4",
    }


AUDIT = {
    "attributes": {
        "gender": {
            "passed": False,
            "group_sizes": {"0": 94, "1": 56},
            "metrics": {"tpr": {"0": 0.6875, "1": 0.8125}, "auc": {"0": 0.877016, "1": 0.69}},
            "gaps": {"tpr": 0.125, "auc": 0.187016},
            "criteria": [
                {
                    "name": "max_tpr_gap",
                    "group": None,
                    "value": 0.125,
                    "op": "<=",
                    "limit": 0.15,
                    "passed": True,
                },
                {
                    "name": "min_auc",
                    "group": "0",
                    "value": 0.877016,
                    "op": ">=",
                    "limit": 0.7,
                    "passed": True,
                },
                {
                    "name": "min_auc",
                    "group": "1",
                    "value": 0.69,
                    "op": ">=",
                    "limit": 0.7,
                    "passed": False,
                },
            ],
            "reasons": ["gender: group '1' AUC 0.69 below min_auc 0.7"],
        }
    }
}


def test_bias_groups_are_named_and_each_gap_sits_beside_its_threshold() -> None:
    today = {"max_age_days": 180, "classifier": {"max_tpr_gap": 0.1, "min_auc": 0.7}}
    (view,) = attribute_views(AUDIT, {"gender": {"0": "male", "1": "female"}}, today)
    assert [g["name"] for g in view["groups"]] == ["male (0)", "female (1)"]
    assert [c["label"] for c in view["columns"]] == ["TPR (sensitivity)", "AUC"]
    assert view["columns"][1]["limit"]["limit"] == 0.7
    female_auc = view["groups"][1]["cells"][1]
    assert (female_auc["value"], female_auc["passed"]) == (0.69, False)
    judged, shown = view["gaps"]
    assert (judged["name"], judged["limit"], judged["passed"]) == ("max_tpr_gap", 0.15, True)
    assert judged["today"] == 0.1  # the policy changed since: said beside the limit
    assert shown["limit"] is None and shown["label"] == "AUC: largest - smallest"
    unlabelled = attribute_views(AUDIT, {}, today)[0]
    assert not unlabelled["labelled"] and group_name({}, "1") == "1"
