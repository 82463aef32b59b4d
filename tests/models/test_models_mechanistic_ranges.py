"""Every covariate of every mechanistic twin: the card's range is what the model does.

At both ends of a feature's card range the model answers; beyond them the request is
refused; a feature the card declares clamped (``FeatureSpec.clamp``, as the source model
truncates it) gives bit-identical outputs beyond the clamp and different ones inside it;
a feature with no clamp moves an output up to both ends of its range (no hidden cap).
"""

from __future__ import annotations

import numpy as np
import pytest

from api.composition.validation import validate_features
from api.errors import BadRequest
from models.card import FeatureSpec, TwinCard
from models.mechanistic.errors import MechanisticInputError
from models.mechanistic_demo import RECIPES, _Recipe

IDS = [r.name for r in RECIPES]


#: Inputs that bound one another: radiotherapy's dose per fraction is at most 30 Gy, so
#: the total dose stays at 30 Gy for one fraction to be a valid plan.
_OVERRIDES = {"radiotherapy-response": {"total_dose": 30.0}}


def _base_row(recipe: _Recipe) -> np.ndarray:
    """The median patient of the twin's reference population (whole where an integer)."""
    population = recipe.population(np.random.default_rng(0), 60)
    inputs = {**population.inputs, **_OVERRIDES.get(recipe.name, {})}
    row = np.array([np.median(inputs[s.name]) for s in recipe.specs])
    ints = np.array([s.dtype != "float" for s in recipe.specs])
    return np.where(ints, np.round(row), row)


def _outputs(recipe: _Recipe, rows: np.ndarray) -> np.ndarray:
    model = recipe.model().fit()
    return np.column_stack([model.predict_outputs(rows, o) for o in model.output_names])


def _with(base: np.ndarray, j: int, values: list[float]) -> np.ndarray:
    rows = np.tile(base, (len(values), 1))
    rows[:, j] = values
    return rows


def _card(recipe: _Recipe) -> TwinCard:
    return TwinCard(
        kind=recipe.kind,
        description="",
        outcome="",
        intended_purposes=("research",),
        features=recipe.specs,
        envelope={},
        sensitive_attributes=(),
        data_categories=recipe.data_categories,
        extra={"output": recipe.output, "outputs": [recipe.output]},
    )


def _step(spec: FeatureSpec) -> float:
    return 1.0 if spec.dtype != "float" else (spec.maximum - spec.minimum) * 1e-3


@pytest.mark.parametrize("recipe", RECIPES, ids=IDS)
def test_the_model_answers_at_both_ends_and_is_refused_beyond(recipe: _Recipe) -> None:
    base, card = _base_row(recipe), _card(recipe)
    for j, spec in enumerate(recipe.specs):
        out = _outputs(recipe, _with(base, j, [spec.minimum, spec.maximum]))
        assert np.all(np.isfinite(out)), spec.name
        for beyond in (spec.minimum - _step(spec), spec.maximum + _step(spec)):
            features = dict(zip(card.feature_names, map(float, base), strict=True))
            features[spec.name] = beyond
            with pytest.raises(BadRequest, match=spec.name):
                validate_features(card, features)


@pytest.mark.parametrize("recipe", RECIPES, ids=IDS)
def test_a_clamp_is_declared_iff_the_model_clamps(recipe: _Recipe) -> None:
    base = _base_row(recipe)
    for j, spec in enumerate(recipe.specs):
        low, high = spec.clamp if spec.clamp is not None else (spec.minimum, spec.maximum)
        assert spec.minimum <= low < high <= spec.maximum, spec.name
        step = _step(spec)
        ends = ((high, high - step, spec.maximum), (low, low + step, spec.minimum))
        for end, inside, beyond in ends:
            values = [inside, end, *np.linspace(end, beyond, 5)[1:]]
            out = _outputs(recipe, _with(base, j, values))
            assert not np.array_equal(out[0], out[1]), (spec.name, "flat inside", inside, end)
            for k in range(2, len(values)):
                assert np.array_equal(out[k], out[1]), (spec.name, "not clamped", values[k])


def test_vancomycin_creatinine_clearance_is_capped_at_150() -> None:
    """Goti 2018 truncated CrCL at 150 mL/min: 200 gives the exposure of 150."""
    (recipe,) = [r for r in RECIPES if r.name == "vancomycin-auc"]
    assert recipe.specs[0].name == "creatinine_clearance"
    assert recipe.specs[0].clamp == (5.0, 150.0)
    assert "150" in recipe.specs[0].description
    rows = np.array([[150.0, 70.0, 1000.0, 12.0], [200.0, 70.0, 1000.0, 12.0]])
    out = _outputs(recipe, rows)
    assert np.array_equal(out[0], out[1])


def test_an_accepted_value_beyond_the_model_bounds_is_refused_by_the_kernel() -> None:
    """The model's own bounds hold too: a value past them is a clear input error."""
    for recipe in RECIPES:
        model = recipe.model()
        bounds = getattr(model, "input_bounds", None)
        if bounds is None:
            continue
        base = _base_row(recipe)
        for j, (low, high, _) in enumerate(bounds):
            spec = recipe.specs[j]
            assert low <= spec.minimum and spec.maximum <= high, spec.name
            with pytest.raises(MechanisticInputError):
                _outputs(recipe, _with(base, j, [high + max(1.0, abs(high))]))


def test_the_clamp_survives_the_card_round_trip_and_old_cards_have_none() -> None:
    (recipe,) = [r for r in RECIPES if r.name == "vancomycin-auc"]
    card = _card(recipe)
    data = card.to_dict()
    assert data["features"][0]["clamp"] == [5.0, 150.0]
    assert "clamp" not in data["features"][1]  # unclamped features keep their old form
    assert TwinCard.from_dict(data) == card
    del data["features"][0]["clamp"]  # a card stored before the key existed
    assert TwinCard.from_dict(data).features[0].clamp is None
