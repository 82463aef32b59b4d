"""Charts for the pages, drawn on the server with matplotlib's object API (no pyplot
state, no scripts) and embedded as ``data:`` SVG images. Labels (feature names from
registered cards) are data: drawn as plain text, never as mathtext or TeX."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from governance.oversight.report_export import plain_text


def _data_uri(fig: Figure) -> str:
    plain_text(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def importance_chart(features: Sequence[tuple[str, float]], measure: str) -> str:
    """Global importance (mean |SHAP| per feature) as horizontal bars, largest on top."""
    names = [name for name, _ in features]
    values = [value for _, value in features]
    fig = Figure(figsize=(6.5, 0.9 + 0.28 * len(names)), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(range(len(names)), values, color="#24508f")
    ax.set_yticks(range(len(names)), names, parse_math=False, usetex=False)
    ax.invert_yaxis()
    ax.set_xlabel(measure, parse_math=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _data_uri(fig)


def calibration_chart(predicted: Sequence[float], observed: Sequence[float]) -> str:
    """Reliability diagram: observed event rate against mean predicted risk per bin."""
    fig = Figure(figsize=(4.2, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", color="#8a93a3", label="perfect calibration")
    ax.plot(predicted, observed, marker="o", color="#24508f", label="this version")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted risk")
    ax.set_ylabel("observed rate")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _data_uri(fig)


#: Withheld reasons in shades of red and brown, released green, refused grey.
_REASON_COLOURS = ("#b8412f", "#e07b39", "#8c2d6b", "#c9a227", "#6b3a2a", "#d95f76", "#7a5c00")


def trend_chart(
    weeks: Sequence[str],
    released: Sequence[int],
    withheld: Mapping[str, Sequence[int]],
    refused: Sequence[int],
) -> str:
    """Decisions per week as stacked bars: released, withheld by reason (the failing
    check), refused for bad input. Week and reason labels are data: plain text."""
    fig = Figure(figsize=(7.5, 3.6 + 0.18 * len(withheld)), layout="constrained")
    ax = fig.add_subplot()
    x = list(range(len(weeks)))
    bottom = [0] * len(weeks)
    layers: list[tuple[str, Sequence[int], str]] = [("released", released, "#2b7a3d")]
    for i, (reason, counts) in enumerate(withheld.items()):
        colour = _REASON_COLOURS[i % len(_REASON_COLOURS)]
        layers.append((f"withheld: {reason}", counts, colour))
    layers.append(("refused (bad input)", refused, "#8a93a3"))
    for name, counts, colour in layers:
        if any(counts):
            ax.bar(x, counts, bottom=bottom, color=colour, label=name, width=0.7)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    ax.set_xticks(
        x, weeks, rotation=45 if len(weeks) > 8 else 0, ha="right" if len(weeks) > 8 else "center"
    )
    ax.set_ylabel("decisions per week")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    if ax.get_legend_handles_labels()[0]:
        fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return _data_uri(fig)
