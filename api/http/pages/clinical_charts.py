"""The clinician's charts, drawn like the others (:mod:`api.http.pages.charts`): the
contributions on the outcome's scale, a twin's trajectory (several regimens overlaid for
the what-if page) and a patient twin's forecast bands with the measured values. Labels
(feature and scenario names) are data: plain text, never mathtext."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure

from api.http.pages.charts import _data_uri
from models.mechanistic.outputs import TrajectorySpec

_COLOURS = ("#24508f", "#b8412f", "#2b7a3d", "#8a5a00", "#6a3d9a")
_MARKERS = ("o", "v", "s")


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


@dataclass(frozen=True)
class Band:
    """One forecast series: its name, times, central values and 90 % interval."""

    name: str
    t: Sequence[float]
    y: Sequence[float]
    low: Sequence[float]
    high: Sequence[float]


def band_chart(
    bands: Sequence[Band],
    measured: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    axes: tuple[str, str],
    target: tuple[float, float, str] | None = None,
) -> str:
    """Forecasts with their 90 % bands and the measured values (each set named) on the same
    time axis; ``target`` (low, high, what) shaded behind them."""
    fig = Figure(figsize=(6.5, 3.4), layout="constrained")
    ax = fig.add_subplot()
    if target is not None:
        ax.axhspan(target[0], target[1], color="#2b7a3d", alpha=0.10,
                   label=f"{target[2]} {target[0]:g}-{target[1]:g}")  # fmt: skip
    for i, b in enumerate(bands):
        colour = _COLOURS[i % len(_COLOURS)]
        ax.fill_between(b.t, b.low, b.high, color=colour, alpha=0.18)
        ax.plot(b.t, b.y, color=colour, linewidth=1.6,
                label=f"{b.name} (90% prediction interval shaded)")  # fmt: skip
    for i, (name, points) in enumerate(measured):
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], _MARKERS[i % len(_MARKERS)],
                    color="#1d1d1d", markersize=4, label=name)  # fmt: skip
    ax.set_xlabel(axes[0], parse_math=False)
    ax.set_ylabel(axes[1], parse_math=False)
    ax.legend(loc="best", fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _data_uri(fig)
