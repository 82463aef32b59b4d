"""Waterfall plots of an attribution, rendered to SVG text.

``shap.plots.waterfall`` draws on pyplot's *current* figure, so rendering is serialised
by a module-level lock. Each call makes its own figure on an explicit Agg canvas (the
global backend is left alone), makes it current only for the duration of the call, and
closes it in ``finally`` so no figure outlives the call.

Feature names come from registered cards: data, never markup. shap puts them into the
y tick labels, which are drawn as plain text (no mathtext ``$...$``, no TeX); shap's own
labels (``E[f(X)]``, ``f(x)``) keep their mathtext.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import shap
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from explain.attribution import Attribution

_PLOT_LOCK = threading.Lock()


def _explanation(attribution: Attribution, features: Mapping[str, float] | None) -> object:
    names = list(attribution.contributions)
    data = None if features is None else np.asarray([float(features[n]) for n in names])
    return shap.Explanation(
        values=np.asarray(list(attribution.contributions.values()), dtype=np.float64),
        base_values=attribution.base_value,
        data=data,
        feature_names=names,
    )


def _plain_feature_labels(figure: Figure) -> None:
    """The y tick labels (feature names, "value = name") as plain text."""
    for axes in figure.axes:
        for label in axes.get_yticklabels(which="both"):
            label.set_parse_math(False)
            label.set_usetex(False)


def waterfall_svg(
    attribution: Attribution, features: Mapping[str, float] | None, max_display: int = 10
) -> str:
    """Render ``attribution`` as a SHAP waterfall plot and return the SVG document."""
    explanation = _explanation(attribution, features)
    buffer = io.StringIO()
    with _PLOT_LOCK:
        figure = Figure()
        num = max(plt.get_fignums(), default=0) + 1
        FigureCanvasAgg.new_manager(figure, num)  # Agg canvas, pyplot-compatible manager
        try:
            plt.figure(figure)  # make it current: shap draws on plt.gcf()
            with plt.ioff():  # shap switches interactive mode off; restore it afterwards
                shap.plots.waterfall(explanation, max_display=max_display, show=False)
            _plain_feature_labels(figure)
            figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
        finally:
            plt.close(figure)
    return buffer.getvalue()
