"""The twin artifact layout, as logged under ``twin/`` in an MLflow run::

    twin/
      model.ubj | model.skops | model.json   the model in its safe format (models.formats)
      card.json                              the TwinCard
      evaluation.csv                         held-out evaluation set
      environment.json                       models.environment.build_environment()
      background.csv                         optional: the explainer's background rows
      uncertainty/                           optional: how each patient's range is found
                                             (models.uncertainty.files)

``background.csv`` holds the rows SHAP explanations are taken against (training rows for
a statistical twin, reference patients for a mechanistic one), with exactly the card's
feature columns in card order. Versions registered before it existed have none; the
runtime then falls back to held-out rows and says so. A version without ``uncertainty/``
gives its predictions without a range. Nothing else is allowed in the directory, so the
digest covers exactly what is loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.card import TwinCard, TwinKind
from models.environment import build_environment
from models.errors import ModelsError
from models.formats import load_model, model_filename, save_model
from models.uncertainty import Uncertainty, load_uncertainty, save_uncertainty
from registry.errors import ArtifactInvalid
from registry.hashing import artifact_files, bytes_digest

ARTIFACT_PATH = "twin"
CARD_FILE = "card.json"
EVALUATION_FILE = "evaluation.csv"
ENVIRONMENT_FILE = "environment.json"
BACKGROUND_FILE = "background.csv"


def expected_files(kind: TwinKind) -> frozenset[str]:
    """The files every twin directory holds (``background.csv`` may be added)."""
    return frozenset({model_filename(kind), CARD_FILE, EVALUATION_FILE, ENVIRONMENT_FILE})


def evaluation_bytes(evaluation: pd.DataFrame) -> bytes:
    """The canonical CSV encoding of an evaluation set (what is stored and digested)."""
    text: str = evaluation.to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8")


def write_twin_layout(
    directory: Path,
    kind: TwinKind,
    model: object,
    card: TwinCard,
    evaluation: pd.DataFrame,
    environment: dict[str, str] | None = None,
    background: pd.DataFrame | None = None,
    uncertainty: Uncertainty | None = None,
) -> str:
    """Write the layout into ``directory``; returns the evaluation set's SHA-256.

    ``environment`` defaults to :func:`models.environment.build_environment` now;
    ``background`` (the card's feature columns, in card order) and ``uncertainty`` (how a
    patient's range is found) are stored when given.
    """
    if environment is None:
        environment = build_environment()
    if card.kind is not kind:
        raise ArtifactInvalid(f"card declares kind {card.kind.value}, model is {kind.value}")
    missing = [name for name in card.feature_names if name not in evaluation.columns]
    if missing:
        raise ArtifactInvalid(f"evaluation set lacks feature columns {missing}")
    directory.mkdir(parents=True, exist_ok=True)
    try:
        save_model(kind, model, directory)
        if uncertainty is not None:
            save_uncertainty(kind, uncertainty, directory)
            load_uncertainty(kind, directory, model)  # refuses one that does not fit the model
    except ModelsError as exc:
        raise ArtifactInvalid(str(exc)) from exc
    _write_json(directory / CARD_FILE, card.to_dict())
    _write_json(directory / ENVIRONMENT_FILE, environment)
    if background is not None:
        _check_background(background, card)
        (directory / BACKGROUND_FILE).write_bytes(evaluation_bytes(background))
    data = evaluation_bytes(evaluation)
    (directory / EVALUATION_FILE).write_bytes(data)
    return bytes_digest(data)


def _check_background(background: pd.DataFrame, card: TwinCard) -> None:
    if tuple(background.columns) != card.feature_names:
        raise ArtifactInvalid(
            f"{BACKGROUND_FILE} must have the card's feature columns {list(card.feature_names)}"
            f" in that order, got {list(background.columns)}"
        )
    try:
        values = background.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ArtifactInvalid(f"{BACKGROUND_FILE} must hold numbers: {exc}") from exc
    if values.shape[0] < 1 or not np.all(np.isfinite(values)):
        raise ArtifactInvalid(f"{BACKGROUND_FILE} must hold at least one row of finite numbers")


@dataclass(frozen=True, eq=False)
class TwinFiles:
    """The contents of a twin directory, read and checked."""

    card: TwinCard
    model: object
    evaluation: pd.DataFrame
    environment: dict[str, str]
    evaluation_digest: str
    #: The registered background (None: registered without one) and its SHA-256.
    background: pd.DataFrame | None = None
    background_digest: str | None = None
    #: How a patient's range is found (None: registered without one).
    uncertainty: Uncertainty | None = None


def read_twin(directory: Path, *, kind: TwinKind | None = None) -> TwinFiles:
    """Read and check the layout; ``kind``, when given, must match the card's."""
    card = read_card(directory)
    if kind is not None and card.kind is not kind:
        raise ArtifactInvalid(f"card declares kind {card.kind.value}, expected {kind.value}")
    present = {relative for relative, _ in artifact_files(directory)}
    wanted = expected_files(card.kind)
    if BACKGROUND_FILE in present:
        wanted = wanted | {BACKGROUND_FILE}
    try:
        model = load_model(card.kind, directory)
        uncertainty, uncertainty_files = load_uncertainty(card.kind, directory, model)
    except ModelsError as exc:
        raise ArtifactInvalid(str(exc)) from exc
    wanted = wanted | uncertainty_files
    if present != wanted:
        raise ArtifactInvalid(
            f"twin layout mismatch: missing {sorted(wanted - present)}, "
            f"unexpected {sorted(present - wanted)}"
        )
    environment = read_environment(directory)
    raw = (directory / EVALUATION_FILE).read_bytes()
    try:
        evaluation = pd.read_csv(directory / EVALUATION_FILE)
    except (ValueError, OSError) as exc:
        raise ArtifactInvalid(f"unreadable {EVALUATION_FILE}: {exc!r}") from exc
    background, background_digest = _read_background(directory, card)
    return TwinFiles(
        card,
        model,
        evaluation,
        environment,
        bytes_digest(raw),
        background,
        background_digest,
        uncertainty,
    )


def _read_background(directory: Path, card: TwinCard) -> tuple[pd.DataFrame | None, str | None]:
    path = directory / BACKGROUND_FILE
    if not path.exists():
        return None, None
    raw = path.read_bytes()
    try:
        # round_trip: the rows exactly as registered (the default parser may differ in
        # the last bit, and the base value is the mean prediction over these rows)
        background = pd.read_csv(path, float_precision="round_trip")
    except (ValueError, OSError) as exc:
        raise ArtifactInvalid(f"unreadable {BACKGROUND_FILE}: {exc!r}") from exc
    _check_background(background, card)
    return background, bytes_digest(raw)


def read_card(directory: Path) -> TwinCard:
    data = _read_json(directory / CARD_FILE)
    if not isinstance(data, dict):
        raise ArtifactInvalid(f"{CARD_FILE} must hold a JSON object")
    try:
        return TwinCard.from_dict(data)
    except (ModelsError, ValueError) as exc:
        raise ArtifactInvalid(f"invalid {CARD_FILE}: {exc}") from exc


def read_environment(directory: Path) -> dict[str, str]:
    data = _read_json(directory / ENVIRONMENT_FILE)
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ArtifactInvalid(f"{ENVIRONMENT_FILE} must map names to version strings")
    return dict(data)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactInvalid(f"missing {path.name}") from exc
    except (OSError, ValueError) as exc:
        raise ArtifactInvalid(f"unreadable {path.name}: {exc!r}") from exc
