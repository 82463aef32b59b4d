"""The optional background in a twin's artifact: stored exactly, checked, and absent from
versions registered before it existed (they still load)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from registry import TwinRegistry
from registry.errors import ArtifactInvalid
from registry.layout import BACKGROUND_FILE, read_twin, write_twin_layout


def _background(rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {"age": rng.uniform(30, 90, 7), "stage": rng.uniform(1, 4, 7) / 3.0}
    )  # floats whose shortest repr has 16-17 digits


def test_the_background_is_stored_and_read_bit_for_bit(tiny_cox, tmp_path: Path) -> None:
    model, card, evaluation = tiny_cox
    background = _background(np.random.default_rng(21))
    write_twin_layout(tmp_path, card.kind, model, card, evaluation, background=background)
    files = read_twin(tmp_path)
    assert files.background is not None and files.background_digest is not None
    assert np.array_equal(files.background.to_numpy(), background.to_numpy())
    assert list(files.background.columns) == list(card.feature_names)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"stage": [1.0], "age": [50.0]}), "feature columns"),
        (pd.DataFrame({"age": [50.0]}), "feature columns"),
        (pd.DataFrame({"age": [50.0], "stage": [np.nan]}), "finite"),
        (pd.DataFrame({"age": [], "stage": []}), "at least one row"),
        (pd.DataFrame({"age": ["old"], "stage": [1.0]}), "numbers"),
    ],
)
def test_a_bad_background_is_refused(
    tiny_cox, tmp_path: Path, frame: pd.DataFrame, match: str
) -> None:
    model, card, evaluation = tiny_cox
    with pytest.raises(ArtifactInvalid, match=match):
        write_twin_layout(tmp_path, card.kind, model, card, evaluation, background=frame)


def test_a_background_edited_after_writing_is_refused_on_read(tiny_cox, tmp_path: Path) -> None:
    model, card, evaluation = tiny_cox
    write_twin_layout(
        tmp_path,
        card.kind,
        model,
        card,
        evaluation,
        background=_background(np.random.default_rng(1)),
    )
    (tmp_path / BACKGROUND_FILE).write_text("age,size\n50,1\n")
    with pytest.raises(ArtifactInvalid, match="feature columns"):
        read_twin(tmp_path)


def test_a_version_registered_without_a_background_loads_without_one(
    twin_registry: TwinRegistry, tiny_cox
) -> None:
    model, card, evaluation = tiny_cox
    old = twin_registry.register("bg-none-probe", card.kind, model, card, evaluation, "dana")
    loaded = twin_registry.load("bg-none-probe", old.version, old.artifact_sha256)
    assert loaded.background is None and loaded.background_sha256 is None
    background = _background(np.random.default_rng(3))
    new = twin_registry.register(
        "bg-none-probe", card.kind, model, card, evaluation, "dana", background=background
    )
    loaded = twin_registry.load("bg-none-probe", new.version, new.artifact_sha256)
    assert loaded.background is not None
    assert np.array_equal(loaded.background.to_numpy(), background.to_numpy())
    assert new.artifact_sha256 != old.artifact_sha256  # the digest covers the background
