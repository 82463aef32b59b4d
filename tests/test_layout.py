"""The package names are common: make sure they resolve to this repository's folders."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["models", "registry", "explain", "governance", "api"])
def test_package_resolves_to_our_folder(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == REPO / name


def test_top_level_layout() -> None:
    for entry in (
        "pyproject.toml",
        "registry",
        "explain",
        "governance",
        "models",
        "api",
        "tests",
        "policies",
        "README.md",
        ".ci/run",
    ):
        assert (REPO / entry).exists(), entry


def _layout_section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split("## Layout", 1)[1].split("\n## ", 1)[0]


def test_the_readme_layout_names_every_room_and_only_real_paths() -> None:
    section = _layout_section()
    tree = section.split("```", 2)[1]
    for package in ("governance", "api"):
        rooms = sorted(p.name for p in (REPO / package).iterdir() if (p / "__init__.py").exists())
        for room in rooms:
            assert f"  {room}/" in tree, f"README Layout does not show {package}/{room}/"
    for path in re.findall(r"`((?:api|governance|explain|registry|models)/[\w/.]+)`", section):
        assert (REPO / path).exists(), f"README Layout names {path}, which does not exist"
