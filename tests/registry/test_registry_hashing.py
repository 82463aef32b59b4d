"""artifact_digest: deterministic, order-independent, sensitive to every byte and name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from registry import ArtifactInvalid, artifact_digest


def _make(root: Path, files: dict[str, bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


FILES = {"card.json": b"{}", "model.json": b"[1, 2]", "sub/evaluation.csv": b"a\n1\n"}


def test_deterministic_and_independent_of_creation_order(tmp_path: Path) -> None:
    first = _make(tmp_path / "a", FILES)
    second = _make(tmp_path / "b", dict(reversed(list(FILES.items()))))
    os.utime(second / "card.json", (0, 0))
    assert artifact_digest(first) == artifact_digest(second)
    assert len(artifact_digest(first)) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"card.json": b"{ }"},
        {"extra.txt": b""},
        {"model.json": b"[1, 3]"},
    ],
)
def test_any_change_changes_the_digest(tmp_path: Path, change: dict[str, bytes]) -> None:
    reference = artifact_digest(_make(tmp_path / "a", FILES))
    assert artifact_digest(_make(tmp_path / "b", {**FILES, **change})) != reference


def test_renaming_or_moving_changes_the_digest(tmp_path: Path) -> None:
    reference = artifact_digest(_make(tmp_path / "a", FILES))
    moved = dict(FILES)
    moved["evaluation.csv"] = moved.pop("sub/evaluation.csv")
    assert artifact_digest(_make(tmp_path / "b", moved)) != reference
    # Content shifted between two files must not collide either.
    shifted = {"card.json": b"{}[1,", "model.json": b" 2]", "sub/evaluation.csv": b"a\n1\n"}
    assert artifact_digest(_make(tmp_path / "c", shifted)) != reference


def test_symlinks_and_missing_directories_are_refused(tmp_path: Path) -> None:
    root = _make(tmp_path / "a", FILES)
    (root / "link").symlink_to(root / "card.json")
    with pytest.raises(ArtifactInvalid):
        artifact_digest(root)
    with pytest.raises(ArtifactInvalid):
        artifact_digest(tmp_path / "missing")
