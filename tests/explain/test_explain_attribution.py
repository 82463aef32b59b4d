"""The attribution type and the additivity (faithfulness) check."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from explain_models import NAMES, Trained

from explain import (
    FLOAT32_TOLERANCE,
    FLOAT64_TOLERANCE,
    Attribution,
    build_explainer,
    check_additivity,
)


def _exact() -> Attribution:
    return Attribution("raw", 1.0, 4.5, {"a": 2.0, "b": -0.5, "c": 2.0})


def test_additivity_holds_on_50_rows_per_kind(trained: Trained) -> None:
    explainer = build_explainer(trained.kind, trained.model, NAMES, trained.background)
    assert explainer.float32 is trained.kind.is_float32
    for row in trained.rows[:50]:
        check = check_additivity(explainer.explain(row).attribution, explainer.float32)
        assert check.faithful, check


def test_perturbed_attribution_is_flagged(trained: Trained) -> None:
    explainer = build_explainer(trained.kind, trained.model, NAMES, trained.background)
    a = explainer.explain(trained.rows[7]).attribution
    assert check_additivity(a, explainer.float32).faithful
    tol = FLOAT32_TOLERANCE if explainer.float32 else FLOAT64_TOLERANCE
    scale = max(1.0, sum(abs(v) for v in a.contributions.values()), abs(a.output_value))
    bumped = dict(a.contributions)
    bumped[NAMES[2]] += 10 * tol * scale
    perturbed = Attribution(a.output_space, a.base_value, a.output_value, bumped)
    check = check_additivity(perturbed, explainer.float32)
    assert not check.faithful
    assert check.residual > check.allowed


def test_tolerance_formula() -> None:
    exact = _exact()
    check = check_additivity(exact, float32=False)
    assert check.faithful and check.residual == 0.0
    assert check.allowed == pytest.approx(FLOAT64_TOLERANCE * 4.5)  # max(1, 4.5, 4.5)
    # A residual of 1e-6 on an output of 4.5 passes float32 but fails float64.
    off = Attribution("raw", 1.0, 4.5 + 1e-6, exact.contributions)
    assert check_additivity(off, float32=True).faithful
    assert not check_additivity(off, float32=False).faithful
    # Small outputs: the scale never drops below 1.
    small = Attribution("raw", 0.0, 0.5e-9, {"a": 0.0})
    assert check_additivity(small, float32=False).faithful


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_is_unfaithful(bad: float) -> None:
    assert not check_additivity(Attribution("raw", 0.0, bad, {"a": bad}), float32=True).faithful
    assert not check_additivity(Attribution("raw", bad, 0.0, {"a": 0.0}), float32=True).faithful


def test_attribution_serialises_and_owns_its_data() -> None:
    source = {"a": np.float32(1.5), "b": np.float64(-0.25)}
    a = Attribution("log_odds", np.float32(0.5), np.float64(1.75), source)
    source["a"] = np.float32(99.0)
    assert a.contributions["a"] == 1.5
    text = json.dumps(a.to_dict())
    assert Attribution.from_dict(json.loads(text)) == a
    assert check_additivity(a, float32=False).faithful
