"""The ``uncertainty/`` folder of a twin's artifact: what a version stores to give each
patient a range (:mod:`models.uncertainty`), in safe formats only::

    uncertainty/
      range.json          {"format": "twinreg.uncertainty/1", "method": ..., ...}
      refit-000.ubj ...   booster_bootstrap only: one XGBoost refit per file
      packed.npz          booster_bootstrap only: the refits packed for evaluation
                          (models.uncertainty.tree_pack; checked against the refits)

A version registered without the folder gives no range. Each method is allowed only for
the kinds it fits, and is checked against the model it is stored with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import xgboost as xgb

from models.card import TwinKind
from models.errors import ArtifactFormatError
from models.uncertainty import boosted, cox, logistic, residuals
from models.uncertainty.boosted import BoosterBootstrap
from models.uncertainty.cox import CoxBootstrap
from models.uncertainty.logistic import LogisticCovariance
from models.uncertainty.residuals import ResidualRange
from models.uncertainty.tree_pack import PackedTrees

Uncertainty = LogisticCovariance | CoxBootstrap | BoosterBootstrap | ResidualRange

FOLDER = "uncertainty"
INDEX_FILE = "range.json"
#: booster_bootstrap: the refits packed for evaluation (numpy arrays, no pickle).
PACK_FILE = "packed.npz"
FORMAT_TAG = "twinreg.uncertainty/1"

#: The method each kind may store.
METHODS: Mapping[TwinKind, str] = MappingProxyType(
    {
        TwinKind.LOGISTIC_REGRESSION: logistic.METHOD,
        TwinKind.COX_PH: cox.METHOD,
        TwinKind.XGBOOST_CLASSIFIER: boosted.METHOD,
        TwinKind.XGBOOST_REGRESSOR: boosted.METHOD,
        TwinKind.RANDOM_FOREST_REGRESSOR: residuals.METHOD,
    }
)


def _refit_name(i: int) -> str:
    return f"refit-{i:03d}.ubj"


def save_uncertainty(kind: TwinKind, uncertainty: Uncertainty, directory: Path) -> list[Path]:
    """Write ``uncertainty`` into ``directory/uncertainty/``; returns the files written."""
    index = uncertainty.to_dict()
    if METHODS.get(kind) != index["method"]:
        raise ArtifactFormatError(
            f"a {kind.value} twin cannot store a {index['method']} range"
            + (f" (it takes {METHODS[kind]})" if kind in METHODS else " (it takes none)")
        )
    folder = directory / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / INDEX_FILE]
    written[0].write_text(
        json.dumps({"format": FORMAT_TAG, **index}, sort_keys=True) + "\n", encoding="utf-8"
    )
    if isinstance(uncertainty, BoosterBootstrap):
        for i, booster in enumerate(uncertainty.boosters):
            path = folder / _refit_name(i)
            path.write_bytes(bytes(booster.save_raw("ubj")))
            written.append(path)
        with (folder / PACK_FILE).open("wb") as out:
            arrays: dict[str, Any] = uncertainty._packed.arrays()
            np.savez_compressed(out, allow_pickle=False, **arrays)
        written.append(folder / PACK_FILE)
    return written


def load_uncertainty(
    kind: TwinKind, directory: Path, model: object
) -> tuple[Uncertainty | None, frozenset[str]]:
    """The version's range method (None without the folder) and the relative paths read.

    Refuses a folder whose method is not its kind's, whose files are not exactly the
    method's, or whose contents do not fit ``model``."""
    folder = directory / FOLDER
    if not folder.exists():
        return None, frozenset()
    data = _index(folder)
    method = data.get("method")
    if METHODS.get(kind) != method:
        raise ArtifactFormatError(f"a {kind.value} twin cannot hold a {method!r} range")
    names = {INDEX_FILE}
    uncertainty: Uncertainty
    if method == boosted.METHOD:
        refits = data.get("refits")
        if not isinstance(refits, int) or isinstance(refits, bool) or refits < 1:
            raise ArtifactFormatError(f"{INDEX_FILE}: refits must be a positive whole number")
        names |= {_refit_name(i) for i in range(refits)} | {PACK_FILE}
        uncertainty = BoosterBootstrap(
            tuple(_booster(folder / _refit_name(i)) for i in range(refits)),
            bool(data.get("classifier")),
            int(data.get("rows", 0)),
            _pack(folder / PACK_FILE, refits),
        )
    elif method == logistic.METHOD:
        uncertainty = LogisticCovariance.from_dict(data)
    elif method == cox.METHOD:
        uncertainty = CoxBootstrap.from_dict(data)
    else:
        uncertainty = ResidualRange.from_dict(data)
    present = {p.name for p in folder.iterdir()}
    if present != names:
        raise ArtifactFormatError(
            f"{FOLDER}/ holds {sorted(present - names)} beyond its method's files, "
            f"lacks {sorted(names - present)}"
        )
    uncertainty.check_matches(model)
    return uncertainty, frozenset(f"{FOLDER}/{name}" for name in names)


def _index(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactFormatError(f"unreadable {FOLDER}/{INDEX_FILE}: {exc!r}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_TAG:
        raise ArtifactFormatError(f"{FOLDER}/{INDEX_FILE} is not a {FORMAT_TAG} file")
    return data


def _pack(path: Path, refits: int) -> PackedTrees:
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, ValueError) as exc:
        raise ArtifactFormatError(f"unreadable {FOLDER}/{PACK_FILE}: {exc!r}") from exc
    return PackedTrees.from_arrays(arrays, refits)


def _booster(path: Path) -> xgb.Booster:
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(path.read_bytes()))
    except (OSError, xgb.core.XGBoostError) as exc:
        raise ArtifactFormatError(f"unreadable {FOLDER}/{path.name}: {exc}") from exc
    return booster
