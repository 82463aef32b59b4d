"""The package names are common: make sure they resolve to this repository's folders."""

from __future__ import annotations

import importlib
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
