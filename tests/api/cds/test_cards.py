"""Cards: client text is literal Markdown, summaries fit 140 characters, and a withheld
decision's card names the failing check and nothing computed after it."""

from __future__ import annotations

import re

from api.cds.cards import failing_check, md, summary, withheld_card


def test_markdown_and_html_in_client_text_are_escaped() -> None:
    text = "[click](javascript:alert(1)) <img src=x> **bold** `code` # head\n\n- item"
    escaped = md(text)
    assert re.search(r"(?<!\\)[\[\]()<>*`#!|_-]", escaped) is None  # each one escaped
    assert "\n" not in escaped
    assert escaped.replace("\\", "") == " ".join(text.split())


def test_summaries_fit_the_specification() -> None:
    assert len(summary("x" * 500)) == 140 and summary("short") == "short"


def test_a_withheld_card_names_the_check_not_the_result() -> None:
    checks = [
        {"check": "role", "passed": True, "detail": "allowed"},
        {"check": "explanation", "passed": False, "detail": "residual 3e-2 exceeds 1e-6"},
    ]
    assert failing_check(checks) == (
        "explanation",
        "the result could not be released; nothing of it is shown",
    )
    card = withheld_card("https://t", "risk estimate", "m", "id-1", checks)
    assert "residual" not in card["detail"] and "check 'explanation' failed" in card["summary"]
    refused = [{"check": "explanation", "passed": False,
                "detail": "the prediction could not be computed (missing: weight)"}]  # fmt: skip
    assert "missing: weight" in failing_check(refused)[1]
