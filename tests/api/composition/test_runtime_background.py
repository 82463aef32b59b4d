"""The explainer's background is the one registered with the version, and the dossier
says which it is (its size and source); a version registered without one (an earlier
release) still loads, with a fallback that says what it used."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from api.cli.demo import DATA_SCIENTIST
from api.composition.runtime import ServedTwin
from api.composition.service import TwinregService
from models.card import TwinKind
from models.demo_twins import DemoTwin
from tests.api.helpers import twin_named

#: Statistical twins whose explainer uses a background (interventional linear SHAP).
LINEAR = ("whas500-mortality-logit", "gbsg2-recurrence")
#: Statistical twins explained by path-dependent TreeSHAP: no background is used.
TREES = ("whas500-mortality", "diabetes-progression")
MECHANISTIC = ("vancomycin-auc", "windkessel-map", "radiotherapy-response", "glucose-t1d-tir")


@pytest.fixture()
def twins(demo_twins: list[DemoTwin], mechanistic_twins: list[DemoTwin]) -> list[DemoTwin]:
    return demo_twins + mechanistic_twins


def _served(service: TwinregService, name: str, version: str = "1") -> ServedTwin:
    served = service.runtime.load(service.lifecycle.version(name, version))
    assert isinstance(served, ServedTwin)
    return served


def _mean_output(twin: DemoTwin, background: np.ndarray) -> float:
    """The mean prediction over ``background`` in the space the attributions add up in."""
    model: Any = twin.model
    if twin.card.kind is TwinKind.LOGISTIC_REGRESSION:
        return float(np.mean(model.decision_function(background)))
    if twin.card.kind is TwinKind.COX_PH:
        return float(np.mean(model.linear_predictor(background)))
    return float(np.mean(model.predict_outputs(background, twin.card.default_output)))


def _row(twin: DemoTwin) -> np.ndarray:
    return twin.evaluation.loc[:0, list(twin.card.feature_names)].to_numpy(dtype=np.float64)


@pytest.mark.parametrize("name", LINEAR + MECHANISTIC)
def test_the_explainer_background_is_the_registered_one(
    service: TwinregService, twins: list[DemoTwin], name: str
) -> None:
    twin = twin_named(twins, name)
    served = _served(service, name)
    np.testing.assert_array_equal(served.background, twin.background)
    used = twin.background[: served.background_info["rows"]]
    base = served.explainer.explain(_row(twin)).attribution.base_value
    assert base == pytest.approx(_mean_output(twin, used), rel=1e-9, abs=1e-9)
    assert served.background_info["registered"] is True


@pytest.mark.parametrize("name", LINEAR + TREES + MECHANISTIC)
def test_the_dossier_shows_the_background_size_and_source(
    service: TwinregService, twins: list[DemoTwin], name: str
) -> None:
    twin = twin_named(twins, name)
    dossier = service.lifecycle.dossiers.latest(name, "1")
    assert dossier is not None
    shown = dossier.body["explanation"]["background"]
    assert shown == _served(service, name).background_info
    assert shown["registered"] is True and shown["registered_rows"] == len(twin.background)
    if name in TREES:
        assert shown["rows"] == 0 and "path-dependent" in shown["source"]
    else:
        assert shown["rows"] >= 1 and "registered with the version" in shown["source"]


@pytest.mark.parametrize("name", LINEAR)
def test_a_version_registered_without_a_background_falls_back_and_says_so(
    service: TwinregService, demo_twins: list[DemoTwin], name: str
) -> None:
    twin = twin_named(demo_twins, name)
    registered = service.register_version(  # no background: as an earlier release did
        DATA_SCIENTIST, name, twin.card.kind, twin.model, twin.card, twin.evaluation
    )
    assert registered.version != "1"  # the MLflow store is shared: any later number
    served = _served(service, name, registered.version)
    held_out = twin.evaluation.loc[:, list(twin.card.feature_names)].to_numpy(dtype=np.float64)
    np.testing.assert_array_equal(served.background, held_out[:100])
    info = served.background_info
    assert info["registered"] is False and info["rows"] == 100
    assert "without a background" in info["source"] and "held-out" in info["source"]
    base = served.explainer.explain(_row(twin)).attribution.base_value
    assert base == pytest.approx(_mean_output(twin, held_out[:100]), rel=1e-9, abs=1e-9)
