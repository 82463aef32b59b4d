"""The licences of the distributions twinreg depends on, read from their metadata.

:func:`licence_of` says what a distribution declares: its SPDX ``License-Expression``
when it has one, else its ``License ::`` classifiers, else its ``License`` field (only its
first line when the field holds a whole licence text), else what its licence file reads
as. :func:`copyleft_of` tells whether that declaration is GPL, AGPL or LGPL with no
permissive alternative.

``python -m tools.licences`` writes ``THIRD_PARTY_LICENSES.md`` from the distributions
installed here that twinreg's requirements reach (``pyproject.toml``, runtime and the
``demo`` extra); ``python -m tools.licences --check`` exits 1 when the file no longer
lists the same distributions with the same licences (versions are shown as generated, not
compared: a patch release does not make the file wrong, a licence change does).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata

from tools.distributions import REPO, closure, installed, project_requirements

OUTPUT = REPO / "THIRD_PARTY_LICENSES.md"
#: Where a ``License`` field is a whole licence text, its first line is what it declares.
_SHORT = 120
_RESTRICTIVENESS = {"LGPL": 0, "GPL": 1, "AGPL": 2}
_FAMILIES = (  # matched in this order ("Lesser General Public License" is not GPL)
    ("AGPL", re.compile(r"\bAGPL|Affero General Public", re.IGNORECASE)),
    ("LGPL", re.compile(r"\bLGPL|Lesser General Public|Library General Public", re.IGNORECASE)),
    ("GPL", re.compile(r"\bGPL|General Public License", re.IGNORECASE)),
)


def _field(dist: metadata.Distribution, name: str) -> str:
    """One metadata field, "" when absent."""
    return str((dist.metadata.get_all(name) or [""])[0]).strip()


def _declared(dist: metadata.Distribution) -> tuple[str, list[str]]:
    """How the licence is declared (``expression``, ``classifiers`` or ``license``) and
    its alternatives (any one of them may be chosen)."""
    expression = _field(dist, "License-Expression")
    if expression:
        return "expression", [part.strip(" ()") for part in re.split(r"\s+OR\s+", expression)]
    classifiers = [
        c.split("::")[-1].strip()
        for c in dist.metadata.get_all("Classifier") or []
        if c.startswith("License ::") and c.split("::")[-1].strip() != "OSI Approved"
    ]
    if classifiers:
        return "classifiers", classifiers
    text = _field(dist, "License")
    if not text or text.upper() == "UNKNOWN":
        found = _from_licence_file(dist)
        return ("file", [found]) if found else ("license", [])
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if len(text) > _SHORT or len(lines) > 1 else text
    return "license", [first[:_SHORT]]


#: Licence texts told by a phrase of theirs, for distributions whose metadata names none.
_TEXTS = (
    ("GNU AFFERO GENERAL PUBLIC LICENSE", "AGPL (licence file)"),
    ("GNU LESSER GENERAL PUBLIC LICENSE", "LGPL (licence file)"),
    ("GNU GENERAL PUBLIC LICENSE", "GPL (licence file)"),
    ("Apache License", "Apache (licence file)"),
    ("Mozilla Public License", "MPL (licence file)"),
    ("Permission is hereby granted, free of charge", "MIT (licence file)"),
    ("Redistribution and use in source and binary forms", "BSD (licence file)"),
)


def _from_licence_file(dist: metadata.Distribution) -> str:
    """The licence a distribution's own licence file reads as ("" when none is told)."""
    for name in dist.metadata.get_all("License-File") or []:
        text = dist.read_text(f"licenses/{name}") or dist.read_text(name) or ""
        for phrase, licence in _TEXTS:
            if phrase.lower() in " ".join(text.split()).lower():
                return licence
    return ""


def licence_of(dist: metadata.Distribution) -> str:
    """What ``dist`` declares, in one line ("" when it declares nothing)."""
    how, alternatives = _declared(dist)
    if how == "expression":
        return _field(dist, "License-Expression")
    return " OR ".join(alternatives) if how == "classifiers" else "".join(alternatives)


def _family(text: str) -> str | None:
    for family, pattern in _FAMILIES:
        if pattern.search(text):
            return family
    return None


def copyleft_of(dist: metadata.Distribution) -> str | None:
    """``"AGPL"``, ``"GPL"`` or ``"LGPL"`` when every alternative ``dist`` declares is of
    that family (the most restrictive one among them); None when one is not copyleft or
    nothing is declared."""
    _, alternatives = _declared(dist)
    families = [_family(alternative) for alternative in alternatives]
    if not families or None in families:
        return None
    # one may choose among alternatives: the least restrictive one applies
    return min((f for f in families if f is not None), key=_RESTRICTIVENESS.__getitem__)


def third_party(extras: Iterable[str] = ("demo",)) -> dict[str, metadata.Distribution]:
    """The installed distributions twinreg's requirements reach (without twinreg)."""
    reached = closure(project_requirements(extras), installed())
    if reached.missing:
        raise LookupError(f"not installed: {', '.join(reached.missing)}")
    return {name: dist for name, dist in reached.distributions.items() if name != "twinreg"}


def _table(dists: Mapping[str, metadata.Distribution]) -> list[str]:
    rows = ["| distribution | version | licence |", "| --- | --- | --- |"]
    for name, dist in sorted(dists.items()):
        licence = licence_of(dist).replace("|", "/") or "(not declared)"
        rows.append(f"| {name} | {dist.version} | {licence} |")
    return rows


def render() -> str:
    """The text of ``THIRD_PARTY_LICENSES.md``."""
    runtime = third_party(())
    demo = {n: d for n, d in third_party(("demo",)).items() if n not in runtime}
    lines = [
        "# Third-party licences",
        "",
        "twinreg is licensed under the Apache License 2.0 (`LICENSE`). It installs the",
        "distributions below; each keeps its own licence, as declared in its package",
        "metadata (SPDX expression, else classifiers, else the first line of its licence",
        "field, else what its licence file reads as). Generated by `python -m tools.licences`",
        "from the distributions installed when it ran (the versions are those);",
        "`tests/tools/test_licences.py` checks that the names and licences are still those",
        "installed.",
        "",
        "## Bundled in this repository",
        "",
        "| component | version | licence | where |",
        "| --- | --- | --- | --- |",
        "| Swagger UI (npm `swagger-ui-dist`) | see `SOURCE.md` there | Apache-2.0 "
        "| `api/http/static/swagger/` |",
        "",
        "## Installed with twinreg (what `twinreg serve` may load)",
        "",
        *_table(runtime),
        "",
        "## Installed by the `demo` extra (the demo's data sets, and the tests)",
        "",
        "scikit-survival is GPL-3.0: it is never a runtime requirement, and the served app",
        "imports no GPL distribution (`tests/api/http/test_app_licences.py`).",
        "",
        *_table(demo),
        "",
    ]
    return "\n".join(lines)


def _rows(text: str) -> set[tuple[str, str]]:
    """(distribution, licence) of every table row naming a distribution."""
    found = set()
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("distribution", "---"):
            found.add((cells[0], cells[2]))
    return found


def stale_rows(current: str, expected: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Rows only in ``expected`` (missing from the file), rows only in ``current``."""
    return _rows(expected) - _rows(current), _rows(current) - _rows(expected)


def main(argv: list[str]) -> int:
    expected = render()
    if argv == ["--check"]:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        missing, extra = stale_rows(current, expected)
        for name, licence in sorted(missing):
            print(f"not listed: {name} ({licence})", file=sys.stderr)
        for name, licence in sorted(extra):
            print(f"listed but not installed so: {name} ({licence})", file=sys.stderr)
        if missing or extra:
            print("regenerate it: python -m tools.licences", file=sys.stderr)
            return 1
        return 0
    if argv:
        print("usage: python -m tools.licences [--check]", file=sys.stderr)
        return 2
    OUTPUT.write_text(expected, encoding="utf-8")
    print(f"{OUTPUT.name}: {len(_rows(expected))} distributions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
