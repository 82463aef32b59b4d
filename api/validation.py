"""Structural validation of request bodies against a twin's card (before the gate)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from api.errors import BadRequest
from models.card import TwinCard

MAX_SCENARIOS = 5
_MODEL = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_VERSION = re.compile(r"[0-9]{1,9}")
_PURPOSE = re.compile(r"[a-z][a-z-]{0,63}")


def check_reference(model: str, version: str | None = None, purpose: str | None = None) -> None:
    """Model references and purposes are plain identifiers: no path, URI or control
    character ever reaches a store."""
    if not _MODEL.fullmatch(model):
        raise BadRequest(
            "model must be a registered name: lower-case letters, digits and '-'", field="model"
        )
    if version is not None and not _VERSION.fullmatch(version):
        raise BadRequest("version must be a version number such as '3'", field="version")
    if purpose is not None and not _PURPOSE.fullmatch(purpose):
        raise BadRequest("purpose must be a purpose name such as 'treatment'", field="purpose")


def validate_output(card: TwinCard, output: str | None, trajectory: bool) -> None:
    """Mechanistic twins predict a named output; other kinds take no output option."""
    if not card.kind.is_mechanistic:
        if output is not None or trajectory:
            raise BadRequest(
                "output and trajectory apply to mechanistic twins only",
                field="output" if output is not None else "trajectory",
            )
        return
    if output is not None and output not in card.outputs:
        raise BadRequest(f"output must be one of {list(card.outputs)}", field="output")


def validate_features(card: TwinCard, features: Mapping[str, Any]) -> dict[str, float]:
    """Structural validation against the feature schema; raises :class:`BadRequest`."""
    names = set(card.feature_names)
    unknown = sorted(set(features) - names)
    if unknown:
        raise BadRequest(
            f"unknown feature(s) {unknown}; this model reads {sorted(names)}",
            field=f"features.{unknown[0]}",
        )
    missing = sorted(names - set(features))
    if missing:
        raise BadRequest(f"missing feature(s) {missing}", field=f"features.{missing[0]}")
    clean: dict[str, float] = {}
    for spec in card.features:
        raw = features[spec.name]
        field = f"features.{spec.name}"
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise BadRequest(f"{field} must be a number", field=field)
        value = float(raw)
        if not math.isfinite(value):
            raise BadRequest(f"{field} must be a finite number", field=field)
        if spec.dtype in ("int", "binary") and not value.is_integer():
            raise BadRequest(f"{field} must be a whole number", field=field)
        if spec.dtype == "binary" and value not in (0.0, 1.0):
            raise BadRequest(f"{field} must be 0 or 1", field=field)
        if not spec.minimum <= value <= spec.maximum:
            raise BadRequest(
                f"{field} is outside the allowed range "
                f"[{spec.minimum:g}, {spec.maximum:g}] {spec.unit}".rstrip(),
                field=field,
            )
        clean[spec.name] = value
    return clean
