"""The front door: explicit dispatch table, refusals and row checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from explain_models import NAMES, Trained

from explain import (
    EXPLAINER_FACTORIES,
    Explained,
    ExplainError,
    InvalidRowError,
    ModelMismatchError,
    TwinExplainer,
    UnsupportedKind,
    build_explainer,
)
from models import TwinKind


def test_every_twin_kind_has_a_factory() -> None:
    assert set(EXPLAINER_FACTORIES) == set(TwinKind)


def test_unknown_kind_refused(logistic: Trained) -> None:
    with pytest.raises(UnsupportedKind):
        build_explainer("mechanistic_ode", logistic.model, NAMES, logistic.background)  # type: ignore[arg-type]


def test_builds_protocol_explainer_with_matching_kind(trained: Trained) -> None:
    explainer = build_explainer(trained.kind, trained.model, NAMES, trained.background)
    assert isinstance(explainer, TwinExplainer)
    assert explainer.kind is trained.kind
    assert explainer.feature_names == NAMES
    explained = explainer.explain(trained.rows[0])
    assert isinstance(explained, Explained)
    assert explained.prediction_kind == trained.kind.prediction_kind
    assert explained.attribution.output_space == trained.kind.output_space
    assert list(explained.attribution.contributions) == list(NAMES)
    json.dumps(explained.to_dict())
    # A (1, n) row and a plain list give the same answer as a 1-D row.
    assert explainer.explain(trained.rows[0][None]) == explained
    assert explainer.explain(trained.rows[0].tolist()) == explained  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "row", [np.zeros(len(NAMES) + 1), np.zeros((2, len(NAMES))), np.full(len(NAMES), np.nan)]
)
def test_invalid_rows_refused(trained: Trained, row: np.ndarray) -> None:
    explainer = build_explainer(trained.kind, trained.model, NAMES, trained.background)
    with pytest.raises(InvalidRowError):
        explainer.explain(row)


def test_model_of_the_wrong_kind_refused(logistic: Trained, rf_regressor: Trained) -> None:
    with pytest.raises(ModelMismatchError):
        build_explainer(TwinKind.XGBOOST_CLASSIFIER, logistic.model, NAMES, logistic.background)
    with pytest.raises(ModelMismatchError):
        build_explainer(TwinKind.COX_PH, logistic.model, NAMES, logistic.background)
    with pytest.raises(ExplainError):
        build_explainer(
            TwinKind.RANDOM_FOREST_CLASSIFIER, rf_regressor.model, NAMES, rf_regressor.background
        )


def test_feature_count_must_match(trained: Trained) -> None:
    with pytest.raises(ModelMismatchError):
        build_explainer(trained.kind, trained.model, NAMES[:-1], trained.background)
