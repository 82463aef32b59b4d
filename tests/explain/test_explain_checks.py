"""Explanation checks over a validation set: additivity, stability, global importance."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from explain_models import Trained

from explain import (
    Explained,
    InvalidRowError,
    TwinExplainer,
    build_explainer,
    check_additivity,
    check_explanations,
)
from models import TwinKind


def _explainer(trained: Trained, names: tuple[str, ...]) -> TwinExplainer:
    return build_explainer(trained.kind, trained.model, names, trained.background)


def _names(trained: Trained) -> tuple[str, ...]:
    return tuple(f"x{i}" for i in range(trained.rows.shape[1]))


def test_every_kind_is_additive_and_stable_on_every_row(trained: Trained) -> None:
    names = _names(trained)
    explainer = _explainer(trained, names)
    rows = trained.rows[:60]
    checks = check_explanations(
        explainer,
        rows,
        max_rows=100,
        stability_rows=5,
        seed=1,
        rebuild=lambda: _explainer(trained, names),
    )
    assert (checks.rows_total, checks.rows_checked, checks.sampled) == (60, 60, False)
    assert checks.additive and checks.additivity_failures == 0
    assert checks.max_residual_ratio <= 1.0
    assert checks.stable and checks.stability_rows == 5 and checks.rebuilt_explainer
    assert checks.output_space == trained.kind.output_space
    body = checks.to_dict()
    assert body["additivity"]["sample_note"] is None
    assert [f["feature"] for f in body["global_importance"]["features"]] == list(checks.importance)


def test_global_importance_is_the_mean_absolute_contribution(logistic: Trained) -> None:
    names = _names(logistic)
    explainer = _explainer(logistic, names)
    rows = logistic.rows[:40]
    checks = check_explanations(explainer, rows, max_rows=100, stability_rows=2, seed=0)
    phi = np.array(
        [[explainer.explain(r).attribution.contributions[n] for n in names] for r in rows]
    )
    expected = np.abs(phi).mean(axis=0)
    assert list(checks.importance.values()) == sorted(checks.importance.values(), reverse=True)
    for j, name in enumerate(names):
        assert checks.importance[name] == pytest.approx(expected[j], rel=1e-12)
    assert not checks.rebuilt_explainer


def test_a_row_budget_samples_with_a_seed_and_says_so(logistic: Trained) -> None:
    explainer = _explainer(logistic, _names(logistic))
    first = check_explanations(explainer, logistic.rows, max_rows=25, stability_rows=3, seed=4)
    again = check_explanations(explainer, logistic.rows, max_rows=25, stability_rows=3, seed=4)
    assert first.sampled and first.rows_checked == 25 and first.rows_total == 300
    assert first.sample_note is not None and "25 of 300 rows" in first.sample_note
    assert first.to_dict() == again.to_dict()


class _Broken:
    """Wraps an explainer: adds ``shift`` to the base value, noise, or fails on a row."""

    def __init__(self, inner: TwinExplainer, shift: float = 0.0, noisy: bool = False) -> None:
        self._inner = inner
        self._shift = shift
        self._rng = np.random.default_rng(0) if noisy else None
        self.calls = 0

    @property
    def kind(self) -> TwinKind:
        return self._inner.kind

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._inner.feature_names

    @property
    def float32(self) -> bool:
        return self._inner.float32

    def explain(self, row: np.ndarray) -> Explained:
        self.calls += 1
        if self.calls == 3:
            raise InvalidRowError("row 3 cannot be explained")
        result = self._inner.explain(row)
        base = result.attribution.base_value + self._shift
        if self._rng is not None:
            base += float(self._rng.normal()) * 1e-15
        return replace(result, attribution=replace(result.attribution, base_value=base))


def _broken(logistic: Trained, **kw: Any) -> _Broken:
    return _Broken(_explainer(logistic, _names(logistic)), **kw)


def test_unfaithful_and_failing_rows_are_counted(logistic: Trained) -> None:
    explainer = _broken(logistic, shift=0.5)
    checks = check_explanations(
        explainer, logistic.rows[:10], max_rows=10, stability_rows=2, seed=0
    )
    assert checks.additivity_failures == 10  # nine unfaithful, one error
    assert checks.errors == ("row 2: row 3 cannot be explained",)
    assert checks.max_residual == pytest.approx(0.5)
    assert not checks.additive


def test_an_explanation_that_changes_when_asked_again_is_unstable(logistic: Trained) -> None:
    explainer = _broken(logistic, noisy=True)
    checks = check_explanations(explainer, logistic.rows[:8], max_rows=8, stability_rows=4, seed=0)
    assert checks.unstable_rows == 4 and not checks.stable
    faithful = check_additivity(explainer.explain(logistic.rows[0]).attribution, False)
    assert faithful.faithful  # noise far below the tolerance: only exact comparison sees it
