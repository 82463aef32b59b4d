"""The ``uncertainty/`` folder: written and read back exactly, each method only for its
kinds, and nothing in the folder beyond what its method reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.card import TwinKind
from models.demo_twins import DemoTwin
from models.errors import ArtifactFormatError
from models.uncertainty import BoosterBootstrap, load_uncertainty, save_uncertainty


def _twin(demo_twins: list[DemoTwin], name: str) -> DemoTwin:
    return next(t for t in demo_twins if t.name == name)


def test_every_demo_twin_range_round_trips(demo_twins: list[DemoTwin], tmp_path: Path) -> None:
    for twin in demo_twins:
        assert twin.uncertainty is not None
        directory = tmp_path / twin.name
        written = save_uncertainty(twin.card.kind, twin.uncertainty, directory)
        loaded, read = load_uncertainty(twin.card.kind, directory, twin.model)
        assert read == {p.relative_to(directory).as_posix() for p in written}
        row = twin.evaluation[list(twin.card.feature_names)].to_numpy(dtype=np.float64)[0]
        assert loaded is not None
        assert loaded.range_for(row, 80.0) == twin.uncertainty.range_for(row, 80.0)


def test_a_version_without_the_folder_has_no_range(tmp_path: Path) -> None:
    assert load_uncertainty(TwinKind.COX_PH, tmp_path, object()) == (None, frozenset())


def test_each_method_only_for_its_kinds(demo_twins: list[DemoTwin], tmp_path: Path) -> None:
    cox = _twin(demo_twins, "gbsg2-recurrence")
    assert cox.uncertainty is not None
    with pytest.raises(ArtifactFormatError, match="cannot store a cox_bootstrap range"):
        save_uncertainty(TwinKind.LOGISTIC_REGRESSION, cox.uncertainty, tmp_path)
    with pytest.raises(ArtifactFormatError, match=r"\(it takes none\)"):
        save_uncertainty(TwinKind.PK_VANCOMYCIN, cox.uncertainty, tmp_path)
    save_uncertainty(TwinKind.COX_PH, cox.uncertainty, tmp_path)
    with pytest.raises(ArtifactFormatError, match="cannot hold a 'cox_bootstrap' range"):
        load_uncertainty(TwinKind.RANDOM_FOREST_REGRESSOR, tmp_path, cox.model)


def test_the_folder_holds_exactly_its_methods_files(
    demo_twins: list[DemoTwin], tmp_path: Path
) -> None:
    booster = _twin(demo_twins, "whas500-mortality")
    assert booster.uncertainty is not None
    kind = booster.card.kind
    save_uncertainty(kind, booster.uncertainty, tmp_path)
    folder = tmp_path / "uncertainty"
    (folder / "notes.txt").write_text("x")
    with pytest.raises(ArtifactFormatError, match=r"\['notes.txt'\] beyond"):
        load_uncertainty(kind, tmp_path, booster.model)
    (folder / "notes.txt").unlink()
    (folder / "refit-049.ubj").unlink()
    with pytest.raises(ArtifactFormatError, match=r"unreadable uncertainty/refit-049\.ubj"):
        load_uncertainty(kind, tmp_path, booster.model)
    (folder / "range.json").write_text("{not json")
    with pytest.raises(ArtifactFormatError, match=r"unreadable uncertainty/range\.json"):
        load_uncertainty(kind, tmp_path, booster.model)
    (folder / "range.json").write_text(json.dumps({"format": "other", "method": "x"}))
    with pytest.raises(ArtifactFormatError, match=r"is not a twinreg\.uncertainty/1 file"):
        load_uncertainty(kind, tmp_path, booster.model)


def test_a_range_stored_with_another_model_is_refused(
    demo_twins: list[DemoTwin], tmp_path: Path
) -> None:
    logit = _twin(demo_twins, "whas500-mortality-logit")
    assert logit.uncertainty is not None
    save_uncertainty(logit.card.kind, logit.uncertainty, tmp_path)
    other = _twin(demo_twins, "whas500-mortality").model  # a booster, not the regression
    with pytest.raises(ArtifactFormatError, match="needs a fitted logistic regression"):
        load_uncertainty(logit.card.kind, tmp_path, other)


def test_a_stored_pack_must_walk_and_agree_with_the_refits(
    demo_twins: list[DemoTwin], tmp_path: Path
) -> None:
    """The packed refits are read back (not re-packed: 0.4 s instead of 1.3 s) and checked
    against the refits themselves; a pack that disagrees, or cannot be walked, is refused."""
    booster = _twin(demo_twins, "whas500-mortality")
    assert booster.uncertainty is not None
    kind = booster.card.kind
    save_uncertainty(kind, booster.uncertainty, tmp_path)
    pack = tmp_path / "uncertainty" / "packed.npz"
    with np.load(pack) as stored:
        arrays = {name: stored[name] for name in stored.files}
    loaded, _ = load_uncertainty(kind, tmp_path, booster.model)
    assert isinstance(loaded, BoosterBootstrap) and loaded.packed is not None
    np.testing.assert_array_equal(loaded.packed.links, arrays["links"])
    leaves = arrays["numbers"].copy()
    leaves[:, 3:] += np.float32(0.01)  # every number past the root and its children moved
    np.savez(pack, **{**arrays, "numbers": leaves})
    with pytest.raises(ArtifactFormatError, match="disagree with the refits themselves"):
        load_uncertainty(kind, tmp_path, booster.model)
    links = arrays["links"].copy()
    links[0, 0, 1] = 10_000  # a child outside its tree
    np.savez(pack, **{**arrays, "links": links})
    with pytest.raises(ArtifactFormatError, match="walkable"):
        load_uncertainty(kind, tmp_path, booster.model)
    pack.write_bytes(b"not a zip")
    with pytest.raises(ArtifactFormatError, match=r"unreadable uncertainty/packed\.npz"):
        load_uncertainty(kind, tmp_path, booster.model)
