"""Client text is data, never markup: every chart the server draws takes its labels as
plain text (no mathtext, no TeX, no HTML), and the ethics-board report gives rows only to
registered models, whatever names clients invent (issue 13, finding 1)."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from matplotlib.font_manager import FontProperties, findfont, get_font
from sqlalchemy import Engine

from api.cli.bench_reports import decision_payload
from api.http.pages.charts import calibration_chart, importance_chart
from explain.attribution import Attribution
from explain.plots import waterfall_svg
from governance.audit.chain import AuditLog
from governance.clock import utcnow
from governance.oversight.report_export import to_html
from governance.oversight.reports import build_report
from governance.store.migrations import upgraded_engine
from tests.api.http.pages.test_pages_http import _sign_in
from tests.conftest import Api

#: Labels that matplotlib would parse as mathtext or TeX, or that are HTML.
HOSTILE = (
    "$\\undefinedmacro{x}$",
    "$x^2$",
    "$",
    "$$",
    "a$b$c",
    "\\",
    "\\$",
    "$\\frac{1}{0}$",
    "$\\sqrt{}$",
    "$a_{b_{c_{d}}}$",
    "\\mathdefault{x}",
    "<script>alert(1)</script>",
    "--><svg onload=alert(1)>",
    "&amp; &lt;",
    "%s %d {0}",
)


def _glyph_id(char: str) -> str:
    """The id matplotlib gives a glyph of its default font in an SVG (text as paths)."""
    font = get_font(findfont(FontProperties(family="DejaVu Sans")))
    return f'id="{font.postscript_name}-{font.get_char_index(ord(char)):x}"'


#: Present only when a dollar sign is drawn as text (mathtext would swallow it).
DOLLAR_GLYPH = _glyph_id("$")
SVG_NS, XLINK_NS = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"


@pytest.fixture()
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = upgraded_engine(f"sqlite:///{tmp_path / 'governance.db'}")
    yield engine
    engine.dispose()


def _checked_svg(svg: str) -> ET.Element:
    """The SVG parses as XML and carries no script, event handler or foreign object."""
    if "xmlns=" not in svg:  # inline in HTML: the report drops the namespaces
        svg = svg.replace("<svg ", f'<svg xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}" ', 1)
    root = ET.fromstring(svg)
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        assert tag not in ("script", "foreignObject"), tag
        assert not any(a.lower().startswith("on") for a in element.attrib), element.attrib
    return root


def _svg_of(data_uri: str) -> str:
    prefix = "data:image/svg+xml;base64,"
    assert data_uri.startswith(prefix)
    return base64.b64decode(data_uri[len(prefix) :]).decode()


# -- every chart-drawing path -----------------------------------------------------------
@pytest.mark.parametrize("label", HOSTILE)
def test_report_bar_chart_draws_hostile_labels_as_text(sqlite_engine: Engine, label: str) -> None:
    audit = AuditLog(sqlite_engine)
    start = utcnow()
    # the chart's labels are the withheld checks and the rows' names
    audit.append("prediction", decision_payload("withheld", "1", (label, label), model=label))
    audit.append("prediction", decision_payload("released", "1", model=label))
    page = to_html(build_report(sqlite_engine, start, utcnow() + timedelta(seconds=1), 180.0))
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.DOTALL)
    assert len(svgs) == 2
    for svg in svgs:
        _checked_svg(svg)
    if "$" in label:
        assert DOLLAR_GLYPH in svgs[1]  # the reasons chart draws the check's name as text
    assert "<script" not in page and "onload" not in page.replace("onload=alert", "")


@pytest.mark.parametrize("label", HOSTILE)
def test_importance_chart_draws_hostile_feature_names_as_text(label: str) -> None:
    svg = _svg_of(importance_chart([(label, 0.4), ("age", 0.2)], label))
    _checked_svg(svg)
    if "$" in label:
        assert DOLLAR_GLYPH in svg


def test_calibration_chart_is_plain_svg() -> None:
    _checked_svg(_svg_of(calibration_chart([0.1, 0.5, 0.9], [0.2, 0.4, 0.8])))


@pytest.mark.parametrize("label", HOSTILE)
def test_waterfall_draws_hostile_feature_names_as_text(label: str) -> None:
    attribution = Attribution(
        base_value=0.1,
        contributions={label: 0.3, "age": -0.1},
        output_value=0.3,
        output_space="log-odds",
    )
    svg = waterfall_svg(attribution, {label: 1.0, "age": 70.0})
    _checked_svg(svg)
    if "$" in label:
        assert DOLLAR_GLYPH in svg


# -- the report over the real app -----------------------------------------------------------
def test_invented_model_names_neither_break_nor_grow_the_report(api: Api) -> None:
    """Refused predictions naming invented models (mathtext, HTML, 40 distinct names) are
    counted in one "unknown model" row; the HTML report and the dashboard still answer."""
    names = [*HOSTILE, *(f"invented-model-{i}" for i in range(40))]
    for name in names:
        body = {"model": name, "patient_id": "p-1", "purpose": "treatment", "features": {}}
        r = api.client.post("/v1/predictions", json=body, headers=api.clinician)
        assert r.status_code == 422, r.text
    report = api.client.get("/v1/reports/ethics?format=json", headers=api.ethics)
    assert report.status_code == 200, report.text
    rows = report.json()["decisions"]["by_model_version"]
    versions = api.service.lifecycle.versions()
    registered = {v.model for v in versions}
    assert len(rows) <= len(versions) + len(registered) + 1
    unknown = [row for row in rows if row["model"] is None]
    assert len(unknown) == 1 and unknown[0]["refused"] == len(names)
    assert all(row["model"] in registered for row in rows if row["model"] is not None)
    html = api.client.get("/v1/reports/ethics?format=html", headers=api.ethics)
    assert html.status_code == 200, html.text[:2000]
    assert "unknown model" in html.text
    assert "<script>alert" not in html.text
    assert _sign_in(api, api.token("erin", "ethics_board")).status_code == 303
    page = api.client.get("/ui/ethics/")
    assert page.status_code == 200, page.text[:2000]
    assert "<script>alert" not in page.text


def test_unknown_versions_of_registered_models_share_the_model_row(api: Api) -> None:
    """A refusal naming a registered model with a version that does not exist counts in
    that model's row without a version, never in a row of its own."""
    for version in ("7", "77", "777"):
        body = {
            "model": "whas500-mortality",
            "version": version,
            "patient_id": "p-1",
            "purpose": "treatment",
            "features": {},
        }
        r = api.client.post("/v1/predictions", json=body, headers=api.clinician)
        assert r.status_code == 422, r.text
    rows = api.client.get("/v1/reports/ethics", headers=api.ethics).json()["decisions"][
        "by_model_version"
    ]
    mine = [row for row in rows if row["model"] == "whas500-mortality"]
    assert {row["model_version"] for row in mine} <= {None, "1"}
    assert sum(row["refused"] for row in mine) == 3


def _trial_job(label: str) -> dict[str, Any]:
    quantiles = [[0.05, 300.0], [0.25, 380.0], [0.5, 450.0], [0.75, 520.0], [0.95, 640.0]]
    arm = {
        "name": label, "regimen": label, "n": 100,
        "outputs": [{"output": "auc24", "unit": "mg·h/L", "mean": 451.0, "quantiles": quantiles}],
        "attainment": [{"target": label, "hits": 40, "n": 100, "proportion": 0.4,
                        "low": 0.31, "high": 0.5}],
    }  # fmt: skip
    difference = {"target": label, "difference": 0.0, "low": -0.1, "high": 0.1}
    result = {
        "level": 0.95,
        "arms": [arm, {**arm, "name": "reference"}],
        "comparisons": [{"arm": label, "reference": "reference", "attainment": [difference],
                         "median_differences": []}],
        "explanations": [{"arm": label, "output": "auc24", "mean_abs": [[label, 1.0]]}],
    }  # fmt: skip
    return {"id": "job-1", "model": "vancomycin-auc", "version": "1", "cohort": label,
            "cohort_digest": "d" * 64, "patients": 100, "withdrawn": 0, "result": result,
            "result_digest": "r" * 64, "release_audit_id": "a-1",
            "request": {"targets": [{"output": "auc24", "low": 400, "high": 600}]}}  # fmt: skip


@pytest.mark.parametrize("label", HOSTILE)
def test_trial_report_draws_client_names_as_text_and_escapes_them(label: str) -> None:
    """Arm names, regimens and targets come from the client: escaped in the HTML, drawn
    as plain text in the charts."""
    from api.cli.trial_report import render_report

    page = render_report(_trial_job(label))
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.DOTALL)
    assert len(svgs) == 1
    _checked_svg(svgs[0])
    if "$" in label:
        assert DOLLAR_GLYPH in svgs[0]  # the arm's name on the y axis, drawn as text
    outside = re.sub(r"<svg .*?</svg>", "", page, flags=re.DOTALL)
    assert "<script" not in outside and "<svg onload" not in outside
