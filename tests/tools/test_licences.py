"""What a distribution's metadata declares as its licence, whether that is GPL-family, and
THIRD_PARTY_LICENSES.md kept current (issue 13, finding 23)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from tests.tools.sites import make_distribution
from tools import licences
from tools.distributions import installed

GPL_TEXT = "                    GNU GENERAL PUBLIC LICENSE\n                       Version 3\n"
MIT_TEXT = "Copyright (c) 2017 Someone\n\nPermission is hereby granted, free of charge, to any"
#: A whole licence text in the License field that mentions the GPL after its first line,
#: as scipy's, pandas' and matplotlib's do for bundled parts.
BSD_WITH_NOTICES = (
    "Copyright (c) 2001-2002 Enthought, Inc.\nAll rights reserved.\n\nRedistribution and "
    "use in source and binary forms ...\n\nThe bundled tool X is under the GNU General "
    "Public License, version 2."
)


@pytest.mark.parametrize(
    ("fields", "licence_file", "declared", "family"),
    [
        (["License-Expression: GPL-3.0-or-later"], None, "GPL-3.0-or-later", "GPL"),
        (["License-Expression: LGPL-3.0-only"], None, "LGPL-3.0-only", "LGPL"),
        (["License-Expression: AGPL-3.0-only"], None, "AGPL-3.0-only", "AGPL"),
        (["License-Expression: MIT OR GPL-2.0-only"], None, "MIT OR GPL-2.0-only", None),
        (["License-Expression: (GPL-2.0-only OR LGPL-2.1-only)"], None, None, "LGPL"),
        (["License-Expression: Apache-2.0 AND MIT"], None, "Apache-2.0 AND MIT", None),
        (
            ["Classifier: License :: OSI Approved :: GNU General Public License v3 (GPLv3)"],
            None,
            "GNU General Public License v3 (GPLv3)",
            "GPL",
        ),
        (
            [
                "Classifier: License :: OSI Approved :: "
                "GNU Library or Lesser General Public License (LGPL)"
            ],
            None,
            None,
            "LGPL",
        ),
        (
            [
                "Classifier: License :: OSI Approved :: MIT License",
                "Classifier: License :: OSI Approved :: GNU General Public License v2 (GPLv2)",
            ],
            None,
            None,
            None,  # dual-licensed: MIT may be chosen
        ),
        (["License: GPLv3"], None, "GPLv3", "GPL"),
        (["License: BSD-3-Clause"], None, "BSD-3-Clause", None),
        ([], GPL_TEXT, "GPL (licence file)", "GPL"),
        ([], MIT_TEXT, "MIT (licence file)", None),
        ([], None, "", None),
        # the expression wins over a stray classifier
        (
            [
                "License-Expression: MIT",
                "Classifier: License :: OSI Approved :: GNU General Public License (GPL)",
            ],
            None,
            "MIT",
            None,
        ),
    ],
)
def test_declared_licence_and_copyleft_family(
    tmp_path: Path,
    fields: list[str],
    licence_file: str | None,
    declared: str | None,
    family: str | None,
) -> None:
    make_distribution(
        tmp_path, "pkg", "1.0", {"pkg/__init__.py": ""}, fields=tuple(fields),
        licence_file=licence_file,
    )  # fmt: skip
    dist = installed([str(tmp_path)])["pkg"]
    if declared is not None:
        assert licences.licence_of(dist) == declared
    assert licences.copyleft_of(dist) == family


def test_a_whole_licence_text_is_judged_by_its_first_line(tmp_path: Path) -> None:
    info = tmp_path / "pkg-1.0.dist-info"
    make_distribution(tmp_path, "pkg", "1.0", {"pkg/__init__.py": ""})
    body = BSD_WITH_NOTICES.replace("\n", "\n        ")  # an RFC 822 folded field
    (info / "METADATA").write_text(
        (info / "METADATA").read_text() + f"License: {body}\n", encoding="utf-8"
    )
    dist = installed([str(tmp_path)])["pkg"]
    assert licences.licence_of(dist) == "Copyright (c) 2001-2002 Enthought, Inc."
    assert licences.copyleft_of(dist) is None


def test_the_real_distributions_are_read_as_they_declare() -> None:
    """scikit-survival is GPL (the reason it is only an extra); psycopg is LGPL."""
    assert licences.copyleft_of(metadata.distribution("scikit-survival")) == "GPL"
    assert licences.copyleft_of(metadata.distribution("psycopg")) == "LGPL"
    assert licences.copyleft_of(metadata.distribution("litestar")) is None


def test_third_party_licenses_lists_what_is_installed() -> None:
    """THIRD_PARTY_LICENSES.md names every distribution twinreg's requirements reach here,
    with the licence each declares (regenerate: python -m tools.licences)."""
    current = licences.OUTPUT.read_text(encoding="utf-8")
    missing, extra = licences.stale_rows(current, licences.render())
    assert missing == set(), f"not listed: {sorted(missing)}"
    assert extra == set(), f"listed, but not so installed: {sorted(extra)}"
    runtime = current.split("## Installed with twinreg", 1)[1].split("\n## ", 1)[0]
    assert "scikit-survival" not in runtime  # a GPL distribution is never a requirement


def test_the_check_fails_on_a_changed_licence_or_a_missing_row() -> None:
    expected = licences.render()
    first_row = next(line for line in expected.splitlines() if line.startswith("| aiohttp"))
    changed = expected.replace(first_row, first_row.rsplit("|", 2)[0] + "| GPL-3.0 |")
    missing, extra = licences.stale_rows(changed, expected)
    assert [name for name, _ in missing] == ["aiohttp"] == [name for name, _ in extra]
    dropped = expected.replace(first_row + "\n", "")
    row = ("aiohttp", first_row.split("|")[3].strip())
    assert licences.stale_rows(dropped, expected) == ({row}, set())
