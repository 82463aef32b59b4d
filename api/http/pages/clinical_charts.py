"""The clinician's charts, drawn like the others (:mod:`api.http.pages.charts`): the
contributions on the outcome's scale, a twin's trajectory (several regimens overlaid for
the what-if page) and a patient twin's forecast band with the measured levels. Labels
(feature and scenario names) are data: plain text, never mathtext."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from api.http.pages.charts import _data_uri
from models.mechanistic.outputs import TrajectorySpec

_COLOURS = ("#24508f", "#b8412f", "#2b7a3d", "#8a5a00", "#6a3d9a")


def _axis(spec_label: str, unit: str) -> str:
    return f"{spec_label} ({unit})" if unit else spec_label


def effects_chart(rows: Sequence[tuple[str, float]], x_label: str, percent: bool) -> str:
    """One bar per feature (largest first): raises the outcome (red) or lowers it (blue)."""
    labels = [label for label, _ in rows]
    values = [100 * v if percent else v for _, v in rows]
    fig = Figure(figsize=(6.5, 0.8 + 0.3 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    colours = ["#b8412f" if v > 0 else "#24508f" for v in values]
    ax.barh(range(len(rows)), values, color=colours)
    ax.set_yticks(range(len(rows)), labels, parse_math=False, usetex=False)
    ax.invert_yaxis()
    ax.axvline(0, color="#5a6375", linewidth=0.8)
    ax.set_xlabel(x_label, parse_math=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _data_uri(fig)


def trajectory_chart(
    curves: Sequence[tuple[str, Sequence[float], Sequence[float]]], spec: TrajectorySpec
) -> str:
    """Each named curve against time; the spec's band (a target range) behind them."""
    fig = Figure(figsize=(6.5, 3.4), layout="constrained")
    ax = fig.add_subplot()
    if spec.y_band is not None:
        low, high, what = spec.y_band
        ax.axhspan(low, high, color="#2b7a3d", alpha=0.12, label=f"{what} {low:g}-{high:g}")
    for i, (name, t, y) in enumerate(curves):
        ax.plot(t, y, color=_COLOURS[i % len(_COLOURS)], linewidth=1.6, label=name)
    ax.set_xlabel(_axis(spec.x_label, spec.x_unit), parse_math=False)
    ax.set_ylabel(_axis(spec.y_label, spec.y_unit), parse_math=False)
    if len(curves) > 1 or spec.y_band is not None:
        ax.legend(loc="best", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _data_uri(fig)


def band_chart(
    t: Sequence[float],
    y: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    levels: Sequence[tuple[float, float]],
    axes: tuple[str, str],
) -> str:
    """A forecast with its 90 % band and the measured levels on the same time axis."""
    fig = Figure(figsize=(6.5, 3.4), layout="constrained")
    ax = fig.add_subplot()
    ax.fill_between(t, low, high, color="#24508f", alpha=0.18, label="90% prediction interval")
    ax.plot(t, y, color="#24508f", linewidth=1.6, label="forecast")
    if levels:
        ax.plot(
            [p[0] for p in levels], [p[1] for p in levels], "o", color="#b8412f",
            label="measured levels",
        )  # fmt: skip
    ax.set_xlabel(axes[0], parse_math=False)
    ax.set_ylabel(axes[1], parse_math=False)
    ax.legend(loc="best", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _data_uri(fig)
