"""The ethics board's pages through the real app: decisions per week under filters, every
withheld decision linked to its audit record's page, one audit-chain section whose counts
agree, and every /ui error an HTML page with a way back."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

import governance.audit.chain as chain_module
from api.cli.bench_reports import decision_payload
from governance.clock import utcnow
from tests.api.http.pages.test_pages_http import _sign_in
from tests.conftest import Api

CONSENT = ("consent", "no active consent for purpose 'treatment'")
HOSTILE = "<script>alert(1)</script> $x^2$"


def _decisions(api: Api, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Decisions this week and two weeks ago, at two sites, for two models."""
    now = utcnow()
    ids = {}

    def at(days: float, action: str, body: dict) -> str:  # type: ignore[type-arg]
        monkeypatch.setattr(chain_module, "utcnow", lambda: now - timedelta(days=days))
        return api.service.audit.append(action, body).record_id

    at(14, "prediction", decision_payload("released", "1", model="whas500-mortality"))
    ids["old"] = at(
        14, "prediction", decision_payload("withheld", "1", CONSENT, model="whas500-mortality")
    )
    ids["west"] = at(
        0,
        "prediction",
        decision_payload("withheld", "1", CONSENT, model="whas500-mortality", site="west"),
    )
    ids["hostile"] = at(
        0,
        "simulation",
        decision_payload("withheld", "1", ("envelope", HOSTILE), model="vancomycin-auc"),
    )
    monkeypatch.undo()
    return ids


def _section(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</table>", start)]


def test_decisions_per_week_by_outcome_and_reason_with_filters(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _decisions(api, monkeypatch)
    _sign_in(api, api.token("erin", "ethics_board"))
    page = api.client.get("/ui/ethics").text
    assert 'data-testid="trend-chart"' in page
    assert '<th><span class="meta">withheld:</span> consent</th>' in page
    withheld = _section(page, "withheld")
    for record_id in ids.values():
        assert f'href="/ui/ethics/audit/{record_id}"' in withheld
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page

    filtered = api.client.get("/ui/ethics?model=whas500-mortality&site=west&reason=consent").text
    withheld = _section(filtered, "withheld")
    assert f"/ui/ethics/audit/{ids['west']}" in withheld
    assert ids["old"] not in withheld and ids["hostile"] not in withheld
    assert re.search(r"<b>1</b>withheld", filtered)
    assert '<option value="west" selected>' in filtered
    read = api.service.audit.records(action="audit.read", limit=1000)[-1]
    assert read["filters"]["view"] == "decision trend"
    assert (read["filters"]["model"], read["filters"]["site"]) == ("whas500-mortality", "west")
    assert read["returned"] == 1
    assert api.client.get("/ui/ethics?model=" + "x" * 201).status_code == 422


def test_one_audit_chain_section_whose_counts_agree(api: Api) -> None:
    _sign_in(api, api.token("erin", "ethics_board"))
    before = api.service.audit.count()
    page = api.client.get("/ui/ethics").text
    assert page.count("<h2>Audit chain</h2>") == 1
    assert page.count('data-testid="verification"') == 1
    counts = re.search(r"(\d+) of (\d+) records verified", page)
    assert counts is not None
    assert int(counts.group(1)) == int(counts.group(2)) == before
    assert f"{before} records verified" in _between(page, 'data-testid="verification"', "</p>")
    assert api.service.audit.records(action="audit.verify", limit=1000) == []  # verified once


def _between(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i : text.index(end, i)]


def test_an_audit_record_page_shows_the_decision_its_checks_and_its_chain_links(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _decisions(api, monkeypatch)
    _sign_in(api, api.token("erin", "ethics_board"))
    response = api.client.get(f"/ui/ethics/audit/{ids['hostile']}")
    assert response.status_code == 200
    page = response.text
    assert 'Decision: <b class="bad">withheld</b>' in page
    assert '<a href="/ui/models/vancomycin-auc/versions/1">vancomycin-auc v1</a>' in page
    checks = _section(page, "record-checks")
    assert checks.count('class="ok">passed') == 2 and checks.count('class="bad">failed') == 1
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert ids["hostile"] in _between(page, 'data-testid="record-chain"', "</dl>")
    assert 'href="/ui/ethics"' in page
    read = api.service.audit.records(action="audit.read", limit=1000)[-1]
    assert read["filters"] == {"record_id": ids["hostile"]} and read["returned"] == 1


@pytest.mark.parametrize(
    ("record_id", "status", "says"),
    [
        ("00000000-0000-4000-8000-000000000000", 404, "no audit record"),
        ("not-a-record", 422, "record_id must be an audit record id"),
    ],
)
def test_a_missing_or_malformed_record_id_is_an_audited_error_page(
    api: Api, record_id: str, status: int, says: str
) -> None:
    _sign_in(api, api.token("erin", "ethics_board"))
    before = len(api.service.audit.records(action="request.refused", limit=1000))
    response = api.client.get(f"/ui/ethics/audit/{record_id}")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert says in response.text and 'href="/ui/ethics"' in response.text
    assert len(api.service.audit.records(action="request.refused", limit=1000)) == before + 1


def test_roles_without_the_audit_log_get_a_refusal_page(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _decisions(api, monkeypatch)
    _sign_in(api, api.token("vera", "validator"))
    response = api.client.get(f"/ui/ethics/audit/{ids['old']}")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert ids["old"] not in response.text.replace(f"/ui/ethics/audit/{ids['old']}", "")
    assert api.service.audit.records(action="audit.read.refused", limit=1000)


@pytest.mark.parametrize(
    ("method", "path", "status", "says", "back"),
    [
        ("get", "/ui/no-such-page", 404, "There is no page at this address", "/ui/"),
        ("get", "/ui/models/no-such-model/versions/1", 404, "has no version", "/ui/models"),
        (
            "delete",
            "/ui/ethics",
            405,
            "does not take a DELETE request; it answers GET",
            "/ui/ethics",
        ),
        ("get", "/ui/ethics?since=bad", 400, "since must be a date such as", "/ui/ethics"),
        (
            "get",
            "/ui/ethics?since=2026-05-02&until=2026-05-01",
            422,
            "the first day must not be after the last day",
            "/ui/ethics",
        ),
        (
            "get",
            "/ui/ethics?period=fortnight",
            422,
            "period must be last-month or custom",
            "/ui/ethics",
        ),
        ("get", "/ui/ethics/export?format=xml", 422, "format must be one of", "/ui/ethics"),
    ],
)
def test_every_ui_error_is_an_html_page_with_a_way_back(
    api: Api, method: str, path: str, status: int, says: str, back: str
) -> None:
    _sign_in(api, api.token("erin", "ethics_board"))
    response = getattr(api.client, method)(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert page.startswith("<!DOCTYPE html>") and says in page
    way_back = _between(page, 'data-testid="way-back"', "</p>")
    assert f'href="{back}"' in way_back and 'href="/ui/"' in way_back
    # refusals and bad input are audited (no page at an address, or a method, is neither)
    assert ("recorded in the audit log" in page) == (path != "/ui/no-such-page" and status != 405)


def test_an_error_page_without_a_session_offers_sign_in(api: Api) -> None:
    response = api.client.get("/ui/no-such-page")
    assert response.status_code == 404
    assert 'href="/ui/sign-in">Sign in</a>' in response.text
