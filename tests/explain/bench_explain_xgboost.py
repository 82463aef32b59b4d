"""Benchmark (not a test): per-row cost of an explained XGBoost row, side by side.

Run: ``.venv/bin/python tests/explain/bench_explain_xgboost.py``. Prints median
microseconds per row and ratios to the bare ``inplace_predict`` measured in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import shap
import xgboost as xgb
from sklearn.datasets import make_classification

from explain import XGBoostClassifierExplainer, check_additivity


def _median_us(fn: Callable[[], object], repeats: int = 7, loops: int = 300) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter() - start) / loops * 1e6)
    return statistics.median(samples)


def _bench(depth: int, x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> None:
    booster = (
        xgb.XGBClassifier(n_estimators=300, max_depth=depth, random_state=0).fit(x, y).get_booster()
    )
    explainer = XGBoostClassifierExplainer(booster, names)
    tree = shap.TreeExplainer(booster)
    row = x[0].astype(np.float32)
    row2d = row.reshape(1, -1)
    bare = _median_us(lambda: booster.inplace_predict(row2d, predict_type="margin"))
    contribs = _median_us(lambda: booster.predict(xgb.DMatrix(row2d), pred_contribs=True))
    ours = _median_us(lambda: explainer.explain(row))
    checked = _median_us(lambda: check_additivity(explainer.explain(row).attribution, True))
    shap_tree = _median_us(lambda: tree.shap_values(row2d), loops=100)
    print(f"300 trees, depth {depth}:")
    for label, us in [
        ("bare inplace_predict", bare),
        ("bare predict(pred_contribs)", contribs),
        ("bare predict + pred_contribs", bare + contribs),
        ("explain()", ours),
        ("explain() + check_additivity", checked),
        ("shap.TreeExplainer.shap_values", shap_tree),
    ]:
        print(f"  {label:32s} {us:9.1f} us  {us / bare:6.2f}x bare")
    print(f"  explain() / (bare predict + pred_contribs): {ours / (bare + contribs):.2f}x")


def main() -> None:
    x, y = make_classification(n_samples=2000, n_features=10, n_informative=6, random_state=0)
    names = tuple(f"f{i}" for i in range(10))
    for depth in (3, 6):
        _bench(depth, x, y, names)


if __name__ == "__main__":
    main()
