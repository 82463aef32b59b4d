"""The HTML report of an in-silico trial (``twinreg trial --report FILE``): the arms'
output distributions as charts (quantile boxes: 25-75 % box, 5-95 % whiskers where
released, the median), target attainment with its interval, the arm differences, the
global explanation, and what the trial ran on (cohort and result digests, audit ids).

Arm names and regimens come from the client: data, never markup. They are escaped in the
HTML and drawn by matplotlib as plain text (no mathtext, no TeX). Charts are inline SVG
drawn with matplotlib's object API (no pyplot state).
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from governance.oversight.report_export import plain_text

_BLUE, _GREY = "#24508f", "#8a93a3"


def _svg(fig: Figure) -> str:
    plain_text(fig)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # inline: without the XML prologue


def _number(value: object, digits: int = 3) -> str:
    if value is None:
        return "suppressed"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return html.escape(str(value))


def output_chart(
    output: str,
    unit: str,
    arms: Sequence[tuple[str, Mapping[float, float]]],
    band: tuple[float | None, float | None] | None,
) -> str:
    """One output's distribution per arm (quantiles by level) as an SVG element."""
    fig = Figure(figsize=(7.0, 1.0 + 0.55 * len(arms)), layout="constrained")
    ax = fig.add_subplot()
    if band is not None:
        low, high = band
        ax.axvspan(low if low is not None else 0.0, high if high is not None else ax.get_xlim()[1],
                   color="#d9ead3", label="target")  # fmt: skip
    for y, (_, q) in enumerate(arms):
        if 0.05 in q and 0.95 in q:
            ax.plot([q[0.05], q[0.95]], [y, y], color=_GREY, linewidth=1.2)
        if 0.25 in q and 0.75 in q:
            ax.barh(y, q[0.75] - q[0.25], left=q[0.25], height=0.5, color=_BLUE, alpha=0.85)
        if 0.5 in q:
            ax.plot([q[0.5]], [y], marker="|", markersize=18, color="black")
    ax.set_yticks(range(len(arms)), [name for name, _ in arms], parse_math=False, usetex=False)
    ax.invert_yaxis()
    ax.set_xlabel(f"{output} ({unit})", parse_math=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def _bands(targets: Sequence[Mapping[str, Any]]) -> dict[str, tuple[float | None, float | None]]:
    return {str(t["output"]): (t.get("low"), t.get("high")) for t in targets}


def _charts(result: Mapping[str, Any], targets: Sequence[Mapping[str, Any]]) -> list[str]:
    arms = result["arms"]
    if not arms:
        return []
    bands = _bands(targets)
    charts = []
    for k, first in enumerate(arms[0]["outputs"]):
        output, unit = str(first["output"]), str(first["unit"])
        series = [
            (str(arm["name"]), {float(q): float(v) for q, v in arm["outputs"][k]["quantiles"]})
            for arm in arms
        ]
        charts.append(
            f"<h3>{html.escape(output)}</h3>\n"
            + output_chart(output, unit, series, bands.get(output))
        )
    return charts


def _attainment_rows(result: Mapping[str, Any]) -> str:
    rows = []
    for arm in result["arms"]:
        for a in arm["attainment"]:
            rows.append(
                "<tr>" + "".join(f"<td>{c}</td>" for c in (
                    html.escape(str(arm["name"])), html.escape(str(arm["regimen"])),
                    html.escape(str(a["target"])), _number(a.get("hits")), _number(arm["n"]),
                    _number(a.get("proportion")),
                    f"{_number(a.get('low'))} - {_number(a.get('high'))}",
                )) + "</tr>"
            )  # fmt: skip
    return "\n".join(rows)


def _comparison_rows(result: Mapping[str, Any]) -> str:
    rows = []
    for c in result.get("comparisons", []):
        for d in c["attainment"]:
            cells = (
                html.escape(f"{c['arm']} - {c['reference']}"),
                html.escape(str(d["target"])),
                _number(d.get("difference")),
                f"{_number(d.get('low'))} - {_number(d.get('high'))}",
            )
            rows.append("<tr>" + "".join(f"<td>{x}</td>" for x in cells) + "</tr>")
    return "\n".join(rows)


def _explanations(result: Mapping[str, Any]) -> str:
    parts = []
    for e in result.get("explanations", []) or []:
        items = "".join(
            f"<li>{html.escape(str(player))}: {_number(float(value))}</li>"
            for player, value in e.get("mean_abs", [])
        )
        title = html.escape(f"{e.get('arm', '')} - {e.get('output', '')}")
        parts.append(f"<h3>{title}</h3><ul>{items}</ul>")
    return "\n".join(parts)


def render_report(job: Mapping[str, Any]) -> str:
    """The report of a finished job (``GET /v1/jobs/{id}``'s body) as an HTML document."""
    result = job["result"] or {}
    level = result.get("level", 0.95)
    targets = job["request"].get("targets", [])
    facts = [
        ("job", job["id"]), ("model", f"{job['model']} v{job['version']}"),
        ("cohort", job["cohort"]), ("cohort digest", job["cohort_digest"]),
        ("patients", job["patients"]), ("left the cohort (consent withdrawn)", job["withdrawn"]),
        ("result digest", job["result_digest"]), ("release audit record", job["release_audit_id"]),
    ]  # fmt: skip
    fact_rows = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts
    )
    disclosure = result.get("disclosure", {})
    note = html.escape(str(disclosure.get("rule", ""))) if disclosure.get("real_patients") else ""
    charts = "\n".join(_charts(result, targets))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>In-silico trial {html.escape(job["id"])}</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto}}
table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}}</style></head>
<body>
<h1>In-silico trial</h1>
<table>{fact_rows}</table>
<p>{note}</p>
<h2>Output distributions</h2>
<p>Box: 25-75 %; whiskers: 5-95 % (where released); mark: median; shaded: the target.</p>
{charts}
<h2>Probability of target attainment ({level:.0%} interval)</h2>
<table><tr><th>arm</th><th>regimen</th><th>target</th><th>reached</th><th>patients</th>
<th>proportion</th><th>interval</th></tr>
{_attainment_rows(result)}</table>
<h2>Arm differences ({level:.0%} interval)</h2>
<table><tr><th>arms</th><th>target</th><th>difference</th><th>interval</th></tr>
{_comparison_rows(result)}</table>
<h2>Global explanation (mean |SHAP| per covariate)</h2>
{_explanations(result)}
</body></html>
"""
