"""Waterfall SVGs: valid documents, no leaked figures, safe under threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import matplotlib.pyplot as plt
from explain_models import NAMES, Trained

from explain import Attribution, build_explainer, waterfall_svg


def _attribution(trained: Trained) -> Attribution:
    explainer = build_explainer(trained.kind, trained.model, NAMES, trained.background)
    return explainer.explain(trained.rows[0]).attribution


def test_waterfall_is_svg(xgb_classifier: Trained) -> None:
    a = _attribution(xgb_classifier)
    features = dict(zip(NAMES, xgb_classifier.rows[0].tolist(), strict=True))
    svg = waterfall_svg(a, features, max_display=4)
    assert "<svg" in svg and svg.rstrip().endswith("</svg>")
    assert waterfall_svg(a, None)
    assert plt.get_fignums() == []


def test_existing_figures_survive(cox: Trained) -> None:
    mine = plt.figure()
    try:
        waterfall_svg(_attribution(cox), None)
        assert plt.get_fignums() == [mine.number]
    finally:
        plt.close(mine)


def test_no_figure_leaks_under_threads(logistic: Trained, rf_classifier: Trained) -> None:
    attributions = [_attribution(logistic), _attribution(rf_classifier)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        svgs = list(pool.map(lambda i: waterfall_svg(attributions[i % 2], None), range(40)))
    assert all("<svg" in s for s in svgs)
    assert plt.get_fignums() == []
