"""CDS Hooks 2.0 cards: ``uuid`` (the decision's audit id: feedback names it),
``summary`` (at most 140 characters), ``indicator``, ``source`` (twinreg, the model and
version, the version's page), ``detail`` (CommonMark) and ``links``.

Text the EHR or a patient record provided (units, identifiers, dates) is data: it goes
into ``detail`` only through :func:`md`, which escapes every Markdown and HTML character.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from governance.release.decision import ReleaseDecision

MAX_SUMMARY = 140
#: Checks that run before anything is computed: their detail says nothing of a result.
PRE_RESULT_CHECKS = frozenset(
    {"policy", "store", "role", "purpose", "site", "consent", "approval", "bias_audit", "envelope"}
)
REFUSED_COMPUTATION = "the prediction could not be computed ("
OVERRIDE_REASON_SYSTEM = "urn:twinreg:cds:override-reason"
OVERRIDE_REASONS = (
    ("clinical-judgement", "Clinical judgement differs"),
    ("data-not-current", "The data behind the card are not current"),
    ("patient-preference", "Patient preference"),
)
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&\"'=:^$@%])")


def md(text: object) -> str:
    """``text`` as literal Markdown: every punctuation character escaped, line breaks
    flattened (client text can open no link, emphasis, HTML or block)."""
    flat = " ".join(str(text).split())
    return _MARKDOWN.sub(r"\\\1", flat)


def summary(text: str) -> str:
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


def source(base: str, model: str, version: str | None) -> dict[str, str]:
    """The card's source: twinreg and the model version, with the version's page."""
    if version is None:
        return {"label": f"twinreg ({model})"}
    return {
        "label": f"twinreg: {model} v{version}",
        "url": f"{base}/ui/models/{model}/versions/{version}",
    }


def link(label: str, url: str) -> dict[str, str]:
    return {"label": label, "url": url, "type": "absolute"}


def override_reasons() -> list[dict[str, str]]:
    return [
        {"system": OVERRIDE_REASON_SYSTEM, "code": c, "display": d} for c, d in OVERRIDE_REASONS
    ]


def card(
    uuid: str,
    text: str,
    indicator: str,
    src: Mapping[str, str],
    detail: str,
    links: Sequence[Mapping[str, str]] = (),
    **extra: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "uuid": uuid,
        "summary": summary(text),
        "indicator": indicator,
        "detail": detail,
        "source": dict(src),
    }
    if links:
        out["links"] = [dict(x) for x in links]
    out.update(extra)
    return out


def failing_check(checks: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """(the first failed check, what may be said of it): a check after the computation
    is named, its detail not (it would speak of the result)."""
    for check in checks:
        if not check.get("passed"):
            name = str(check.get("check"))
            detail = str(check.get("detail", ""))
            # a refused computation says why by class and field name, never a value
            if name in PRE_RESULT_CHECKS or detail.startswith(REFUSED_COMPUTATION):
                return name, detail
            return name, "the result could not be released; nothing of it is shown"
    return "unknown", "the decision was withheld"


def withheld_card(
    base: str, what: str, model: str, audit_id: str, checks: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """An info card for a withheld decision: which check failed, nothing of the result."""
    name, why = failing_check(checks)
    detail = (
        f"twinreg's release gate withheld the {md(what)}: check **{md(name)}** failed: "
        f"{md(why)}.\n\nNothing of the result is shown. Audit record: `{audit_id}`."
    )
    text = f"twinreg withheld the {what}: check '{name}' failed"
    return card(audit_id, text, "info", source(base, model, None), detail)


def refused_card(base: str, what: str, model: str, audit_id: str, reason: str) -> dict[str, Any]:
    """An info card for a request twinreg refused before any decision (e.g. missing or
    invalid data, no twin): why, audited."""
    detail = f"{md(reason)}\n\nAudit record: `{audit_id}`."
    return card(audit_id, f"twinreg: no {what}: {reason}", "info", source(base, model, None),
                detail)  # fmt: skip


def missing_features_card(
    base: str, model: str, audit_id: str, missing: Mapping[str, str]
) -> dict[str, Any]:
    names = sorted(missing)
    rows = "\n".join(f"| {md(n)} | {md(missing[n])} |" for n in names)
    detail = (
        f"{md(model)} needs every feature of its card; these have no value:\n\n"
        f"| feature | why |\n| --- | --- |\n{rows}\n\n"
        f"Nothing was predicted. Audit record: `{audit_id}`."
    )
    text = f"twinreg risk not computed: missing {', '.join(names)}"
    return card(audit_id, text, "info", source(base, model, None), detail)


def released_source(base: str, decision: ReleaseDecision) -> dict[str, str]:
    return source(base, decision.model, decision.model_version)
