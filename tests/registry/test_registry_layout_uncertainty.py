"""The optional ``uncertainty/`` folder in a twin's artifact: checked against the model
when written, read back with the version, and a version without it loads without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.demo_twins import DemoTwin
from registry.errors import ArtifactInvalid
from registry.layout import read_twin, write_twin_layout


def test_a_range_that_does_not_fit_the_model_is_not_written(
    tiny_cox, demo_twins: list[DemoTwin], tmp_path: Path
) -> None:
    model, card, evaluation = tiny_cox  # two features; the demo's refits have eight
    refits = next(t for t in demo_twins if t.name == "gbsg2-recurrence").uncertainty
    with pytest.raises(ArtifactInvalid, match="do not fit the model"):
        write_twin_layout(tmp_path, card.kind, model, card, evaluation, uncertainty=refits)


def test_the_layout_reads_the_folder_and_refuses_strays(
    demo_twins: list[DemoTwin], tmp_path: Path
) -> None:
    twin = next(t for t in demo_twins if t.name == "diabetes-progression")
    write_twin_layout(
        tmp_path, twin.card.kind, twin.model, twin.card, twin.evaluation,
        uncertainty=twin.uncertainty,
    )  # fmt: skip
    assert read_twin(tmp_path).uncertainty == twin.uncertainty
    (tmp_path / "uncertainty" / "range.json").unlink()
    (tmp_path / "uncertainty" / "old.json").write_text("{}")
    with pytest.raises(ArtifactInvalid, match=r"unreadable uncertainty/range\.json"):
        read_twin(tmp_path)


def test_without_the_folder_a_version_has_no_range(tiny_cox, tmp_path: Path) -> None:
    model, card, evaluation = tiny_cox
    write_twin_layout(tmp_path, card.kind, model, card, evaluation)
    assert read_twin(tmp_path).uncertainty is None
