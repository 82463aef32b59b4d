"""Exports of an :class:`~governance.oversight.reports.EthicsReport`: JSON, CSV and printable HTML.

JSON is :meth:`EthicsReport.to_dict` as compact, key-sorted text.

CSV is one long table with the header ``section,row,field,value``:

- ``section`` is a report section (``report``, ``decisions``, ``consent``,
  ``bias_audits``, ``lifecycle``, ``overrides``, ``policies``, ``audit_chain``) for its
  scalar fields, or ``<section>.<list>`` (e.g. ``decisions.by_model_version``,
  ``lifecycle.suspensions``) for the rows of one of its tables;
- ``row`` is empty for scalars, else the 0-based row number within that table;
- ``field`` is the field name; ``value`` its text: empty for null, ``true``/``false``,
  numbers as Python writes them, datetimes as ISO 8601 UTC; a nested list (the top
  details of a reason) is written as JSON text.

Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
tab or carriage return) is prefixed with ``'``.

HTML is one self-contained, printable page: inline CSS, charts as inline SVG drawn with
matplotlib's object API (:class:`matplotlib.figure.Figure`, no pyplot state), no scripts
and no external URLs. Every label is drawn as plain text (mathtext and TeX off: a name
with ``$`` or ``\\`` in it is data, never markup), and the page's text is autoescaped.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

import jinja2
from markupsafe import Markup
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from governance.oversight.reports import EthicsReport

CSV_HEADER = ("section", "row", "field", "value")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SECTIONS = (
    "decisions",
    "consent",
    "bias_audits",
    "lifecycle",
    "overrides",
    "policies",
    "audit_chain",
)


# -- JSON -------------------------------------------------------------------------------------
def to_json(report: EthicsReport) -> str:
    return json.dumps(report.to_dict(), sort_keys=True, ensure_ascii=False, allow_nan=False)


# -- CSV --------------------------------------------------------------------------------------
def to_csv(report: EthicsReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(_csv_rows(report.to_dict()))
    return out.getvalue()


def _csv_rows(data: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    for key in ("since", "until", "generated_at"):
        yield "report", "", key, _cell(data[key])
    for section in _SECTIONS:
        body: dict[str, Any] = data[section]
        for name, value in body.items():
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict):
                        for field, cell in item.items():
                            yield f"{section}.{name}", str(i), field, _cell(cell)
                    else:
                        yield f"{section}.{name}", str(i), "value", _cell(item)
            else:
                yield section, "", name, _cell(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


# -- HTML -------------------------------------------------------------------------------------
def to_html(report: EthicsReport) -> str:
    """The whole report as one self-contained, printable HTML document."""
    r = report.to_dict()
    return _DOCUMENT.render(r=r, style=Markup(STYLE), body=to_html_fragment(report))  # noqa: S704


def to_html_fragment(report: EthicsReport, audit_chain: bool = True) -> Markup:
    """The report's sections as HTML markup, for embedding in a page that carries
    :data:`STYLE` (the ethics-board dashboard, which shows the chain's section itself:
    ``audit_chain=False``)."""
    d = report.decisions
    versions = [_version_label(v.model, v.model_version) for v in d.by_model_version]
    decisions_chart = (
        _bar_svg(
            versions,
            {
                "released": [v.released for v in d.by_model_version],
                "withheld": [v.withheld for v in d.by_model_version],
            },
            "Decisions by model version",
        )
        if versions
        else ""
    )
    reasons_chart = (
        _bar_svg(
            [r.check for r in d.withheld_by_reason],
            {"withheld": [r.count for r in d.withheld_by_reason]},
            "Withheld by reason (failing check)",
        )
        if d.withheld_by_reason
        else ""
    )
    html = _SECTIONS_TEMPLATE.render(
        r=report.to_dict(),
        audit_chain=audit_chain,
        decisions_chart=decisions_chart,
        reasons_chart=reasons_chart,
    )
    return Markup(html)  # noqa: S704  (autoescaped template)


_COLOURS = {"released": "#2b7a3d", "withheld": "#b8412f"}
#: The row of decisions naming no registered model (see report_decisions).
UNKNOWN_MODEL = "unknown model"


def _version_label(model: str | None, version: str | None) -> str:
    if model is None:
        return UNKNOWN_MODEL
    return f"{model} v{version}" if version is not None else f"{model} (no version)"


def plain_text(fig: Figure) -> None:
    """Draw every text of ``fig`` as the characters it holds: no mathtext (``$...$``),
    no TeX. Labels come from data (model names, checks, feature names)."""
    for text in fig.findobj(Text):
        text.set_parse_math(False)
        text.set_usetex(False)


def _bar_svg(labels: Sequence[str], series: dict[str, list[int]], title: str) -> Markup:
    """A horizontal (grouped) bar chart as inline SVG markup."""
    n, k = len(labels), len(series)
    fig = Figure(figsize=(7.0, 1.2 + 0.32 * n * k), layout="constrained")
    ax = fig.add_subplot()
    height = 0.8 / k
    for j, (name, values) in enumerate(series.items()):
        ys = [i + (j - (k - 1) / 2) * height for i in range(n)]
        bars = ax.barh(ys, values, height=height, label=name, color=_COLOURS.get(name, "#44546a"))
        ax.bar_label(bars, padding=2, fontsize=8)
    ax.set_yticks(range(n), labels, parse_math=False, usetex=False)
    ax.invert_yaxis()
    ax.set_xlabel("decisions")
    ax.set_title(title, fontsize=10, loc="left", parse_math=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(x=0.12)
    if k > 1:
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    plain_text(fig)
    buf = io.StringIO()
    fig.savefig(
        buf,
        format="svg",
        metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
    )
    # matplotlib escapes every label it writes into the SVG (text is drawn as paths).
    return Markup(_inline_svg(buf.getvalue()))  # noqa: S704


def _inline_svg(svg: str) -> str:
    """matplotlib's SVG file as an HTML5 inline element: no XML prolog, no namespace URLs."""
    start = svg.index("<svg")
    svg = svg[start:]
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg, count=3)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    return re.sub(r"<svg ", '<svg role="img" class="chart" ', svg, count=1)


#: The report's CSS: print-friendly, no external fonts or URLs.
STYLE = """body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;
  margin:2rem auto;max-width:60rem;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;
  border-bottom:2px solid #d5dae3;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0}
th,td{border:1px solid #d5dae3;padding:.3rem .5rem;text-align:left;vertical-align:top;
  overflow-wrap:break-word}
code{overflow-wrap:anywhere}
th{background:#f1f3f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#5a6375}.ok{color:#2b7a3d;font-weight:600}.bad{color:#b8412f;font-weight:600}
.kpi{display:flex;gap:1rem;flex-wrap:wrap}.kpi div{border:1px solid #d5dae3;
  border-radius:6px;padding:.5rem 1rem}.kpi b{display:block;font-size:1.4rem}
svg.chart{max-width:100%;height:auto}section{break-inside:avoid-page}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}
  tr{break-inside:avoid}}
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)

_DOCUMENT = _ENV.from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Ethics-board report {{ r.since[:10] }} to {{ r.until[:10] }}</title>
<style>{{ style }}</style>
</head>
<body>
<h1>Ethics-board report</h1>
<p class="meta">Period {{ r.since }} to {{ r.until }} (end exclusive) ·
generated {{ r.generated_at }}</p>

{{ body }}
</body>
</html>
"""
)

_SECTIONS_TEMPLATE = _ENV.from_string(
    """{% if audit_chain %}<section>
<h2>Audit chain</h2>
{% set c = r.audit_chain %}
<p class="{{ 'ok' if c.ok else 'bad' }}">{{ 'Intact' if c.ok else 'BROKEN' }}:
{{ c.message }}</p>
<p class="meta">{{ c.verified_records }} of {{ c.records_total }} records verified
{%- if c.checkpoints_checked %}, {{ c.checkpoints_checked }} checkpoints checked{% endif %};
{{ c.records_in_period }} records in the period.</p>
</section>{% endif %}

<section>
<h2>Release decisions</h2>
{% set d = r.decisions %}
<div class="kpi"><div><b>{{ d.released }}</b>released</div>
<div><b>{{ d.withheld }}</b>withheld</div><div><b>{{ d.refused }}</b>refused (bad input)</div>
<div><b>{{ d.released_with_warnings }}</b>released with warnings</div></div>
{{ decisions_chart }}
<table><tr><th>Model</th><th>Version</th><th>Released</th><th>Withheld</th>
<th>Refused</th></tr>
{% for v in d.by_model_version %}<tr><td>{{ v.model or 'unknown model' }}</td>
<td>{{ v.model_version or '—' }}</td><td class="n">{{ v.released }}</td>
<td class="n">{{ v.withheld }}</td><td class="n">{{ v.refused }}</td></tr>
{% else %}<tr><td colspan="5">No decisions in this period.</td></tr>{% endfor %}
</table>
<h3>Why results were withheld</h3>
{{ reasons_chart }}
<table><tr><th>Failing check</th><th>Count</th><th>Most frequent details</th></tr>
{% for x in d.withheld_by_reason + d.refused_by_reason %}<tr><td>{{ x.check }}</td>
<td class="n">{{ x.count }}</td><td><ul>{% for t in x.top_details %}
<li>{{ t.detail }} ({{ t.count }})</li>{% endfor %}</ul></td></tr>
{% else %}<tr><td colspan="3">Nothing was withheld.</td></tr>{% endfor %}
</table>
</section>

<section>
<h2>Consent</h2>
{% set k = r.consent %}
<p>{{ k.grants }} grants and {{ k.withdrawals }} withdrawals in the period;
{{ k.registered_patients }} patients registered at its end.</p>
<table><tr><th>Purpose</th><th>Grants</th><th>Withdrawals</th>
<th>Patients covered at end</th><th>Coverage</th></tr>
{% for p in k.by_purpose %}<tr><td>{{ p.purpose }}</td><td class="n">{{ p.grants }}</td>
<td class="n">{{ p.withdrawals }}</td><td class="n">{{ p.patients_covered }}</td>
<td class="n">{{ '%.1f' % (100 * p.coverage) }}%</td></tr>
{% else %}<tr><td colspan="5">No consents on file.</td></tr>{% endfor %}
</table>
</section>

<section>
<h2>Bias audits</h2>
{% set b = r.bias_audits %}
<p>{{ b.passed }} passed and {{ b.failed }} failed in the period;
{{ b.expired | length }} versions whose latest passing audit is older than
{{ b.max_age_days }} days.</p>
<table><tr><th>Model</th><th>Version</th><th>Result</th><th>Auditor</th><th>At</th></tr>
{% for a in b.audits %}<tr><td>{{ a.model }}</td><td>{{ a.model_version }}</td>
<td class="{{ 'ok' if a.passed else 'bad' }}">{{ 'passed' if a.passed else 'failed' }}</td>
<td>{{ a.auditor }}</td><td>{{ a.at }}</td></tr>
{% else %}<tr><td colspan="5">No bias audits in this period.</td></tr>{% endfor %}
</table>
{% if b.expired %}<h3>Expired audits</h3>
<table><tr><th>Model</th><th>Version</th><th>Audited at</th><th>Age (days)</th>
<th>Status now</th></tr>
{% for e in b.expired %}<tr><td>{{ e.model }}</td><td>{{ e.model_version }}</td>
<td>{{ e.audited_at }}</td><td class="n">{{ e.age_days }}</td>
<td>{{ e.status or '—' }}</td></tr>{% endfor %}
</table>{% endif %}
</section>

<section>
<h2>Approvals, rejections, suspensions</h2>
{% for title, key in [('Approvals', 'approvals'), ('Rejections', 'rejections'),
  ('Suspensions', 'suspensions'), ('Reinstatements', 'reinstatements'),
  ('Retirements', 'retirements')] %}
<h3>{{ title }} ({{ r.lifecycle[key] | length }})</h3>
{% if r.lifecycle[key] %}<table><tr><th>Model</th><th>Version</th><th>From</th>
<th>Who</th><th>Why</th><th>At</th></tr>
{% for t in r.lifecycle[key] %}<tr><td>{{ t.model }}</td><td>{{ t.model_version }}</td>
<td>{{ t.from_status or '—' }}</td><td>{{ t.actor }}</td><td>{{ t.reason }}</td>
<td>{{ t.at }}</td></tr>{% endfor %}</table>{% endif %}
{% endfor %}
</section>

<section>
<h2>Clinician overrides</h2>
{% set o = r.overrides %}
<p>{{ o.total }} clinician actions: {{ o.disregarded }} disregarded, {{ o.overridden }}
overridden, {{ o.accepted }} accepted.</p>
{% if o.entries %}<table><tr><th>Model</th><th>Version</th><th>Site</th><th>Action</th>
<th>Clinician</th><th>Reason</th><th>At</th></tr>
{% for e in o.entries %}<tr><td>{{ e.model }}</td><td>{{ e.model_version }}</td>
<td>{{ e.site }}</td><td>{{ e.action }}</td><td>{{ e.clinician }}</td>
<td>{{ e.reason }}</td><td>{{ e.at }}</td></tr>{% endfor %}</table>{% endif %}
</section>

<section>
<h2>Policy versions</h2>
{% set p = r.policies %}
<p>In force at the end of the period: <code>{{ p.in_force_at_end or 'none recorded' }}</code>;
{{ p.changes | length }} changes in the period.</p>
{% if p.changes %}<table><tr><th>At</th><th>From</th><th>To</th></tr>
{% for c in p.changes %}<tr><td>{{ c.at }}</td><td><code>{{ c.from_version or '—' }}</code></td>
<td><code>{{ c.to_version or '—' }}</code></td></tr>{% endfor %}</table>{% endif %}
</section>
"""
)
