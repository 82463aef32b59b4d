"""The IWPC warfarin algorithm: the published formula, its input coding, its file format.

Expected doses are computed here from the coefficients as printed in the NEJM 2009
supplementary appendix (written out below), never from the production tables.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from models.card import TwinKind
from models.errors import ArtifactFormatError, DoseInputError
from models.formats import load_model, model_filename, save_model
from models.scoring import score
from models.warfarin.iwpc import FEATURES, IWPC_PHARMACOGENETIC, IwpcWarfarinModel

# The published pharmacogenetic algorithm (sqrt of the weekly dose in mg/week).
INTERCEPT, AGE_DECADES, HEIGHT_CM, WEIGHT_KG = 5.6044, -0.2614, 0.0087, 0.0128
VKORC1 = {"A/G": -0.8677, "A/A": -1.6974, "unknown": -0.4854}
CYP2C9 = {"*1/*2": -0.5211, "*1/*3": -0.9357, "*2/*2": -1.0616, "*2/*3": -1.9206,
          "*3/*3": -2.3312, "unknown": -0.2188}  # fmt: skip
RACE = {"Asian": -0.1092, "Black or African American": -0.2760, "missing or mixed": -0.1032}
ENZYME_INDUCER, AMIODARONE = 1.1816, -0.5503

# The card's codes (code 0 is the reference: G/G, *1/*1, White).
VKORC1_CODE = {"G/G": 0, "A/G": 1, "A/A": 2, "unknown": 3}
CYP2C9_CODE = {"*1/*1": 0, "*1/*2": 1, "*1/*3": 2, "*2/*2": 3, "*2/*3": 4, "*3/*3": 5,
               "unknown": 6}  # fmt: skip
RACE_CODE = {"White": 0, "Asian": 1, "Black or African American": 2, "missing or mixed": 3}


def published_dose(age: int, height: float, weight: float, vkorc1: str, cyp2c9: str,
                   race: str, inducer: int, amiodarone: int) -> float:  # fmt: skip
    root = (
        INTERCEPT
        + AGE_DECADES * min(age // 10, 9)
        + HEIGHT_CM * height
        + WEIGHT_KG * weight
        + VKORC1.get(vkorc1, 0.0)
        + CYP2C9.get(cyp2c9, 0.0)
        + RACE.get(race, 0.0)
        + ENZYME_INDUCER * inducer
        + AMIODARONE * amiodarone
    )
    return root**2


def row(age: float, height: float, weight: float, vkorc1: str, cyp2c9: str, race: str,
        inducer: int, amiodarone: int) -> list[float]:  # fmt: skip
    return [age, height, weight, VKORC1_CODE[vkorc1], CYP2C9_CODE[cyp2c9], RACE_CODE[race],
            inducer, amiodarone]  # fmt: skip


def test_a_hand_worked_patient() -> None:
    # 67 years (decade 6), 175 cm, 82 kg, VKORC1 A/G, CYP2C9 *1/*3, Asian, on amiodarone:
    # sqrt = 5.6044 - 1.5684 + 1.5225 + 1.0496 - 0.8677 - 0.9357 - 0.1092 - 0.5503 = 4.1452
    args = (67, 175.0, 82.0, "A/G", "*1/*3", "Asian", 0, 1)
    expected = published_dose(*args)
    assert expected == pytest.approx(4.1452**2, abs=1e-9)
    dose = IWPC_PHARMACOGENETIC.predict(row(*args))
    assert dose.shape == (1,)
    assert dose[0] == pytest.approx(expected, rel=1e-12)
    assert dose[0] == pytest.approx(17.1827, abs=1e-4)  # mg/week


@pytest.mark.parametrize("vkorc1", list(VKORC1_CODE))
@pytest.mark.parametrize("cyp2c9", list(CYP2C9_CODE))
def test_every_genotype_follows_the_published_table(vkorc1: str, cyp2c9: str) -> None:
    for race, inducer, amiodarone in (("White", 0, 0), ("Black or African American", 1, 0),
                                      ("missing or mixed", 0, 1)):  # fmt: skip
        args = (58, 163.5, 71.2, vkorc1, cyp2c9, race, inducer, amiodarone)
        got = IWPC_PHARMACOGENETIC.predict(row(*args))[0]
        assert got == pytest.approx(published_dose(*args), rel=1e-12)


@pytest.mark.parametrize(("age", "decade"), [(18, 1), (29, 2), (30, 3), (89, 8), (90, 9), (104, 9)])
def test_age_enters_in_decades_as_the_iwpc_coded_it(age: int, decade: int) -> None:
    terms = IWPC_PHARMACOGENETIC.terms(row(age, 170, 70, "G/G", "*1/*1", "White", 0, 0))
    assert terms[0, FEATURES.index("age")] == pytest.approx(AGE_DECADES * decade)


def test_the_predictor_is_the_intercept_plus_its_terms_squared() -> None:
    rows = np.array([row(45, 180, 95, "A/A", "*2/*3", "Black or African American", 1, 0),
                     row(72, 155, 52, "unknown", "unknown", "missing or mixed", 0, 1)])  # fmt: skip
    terms = IWPC_PHARMACOGENETIC.terms(rows)
    assert terms.shape == (2, len(FEATURES))
    root = INTERCEPT + terms.sum(axis=1)
    np.testing.assert_allclose(IWPC_PHARMACOGENETIC.sqrt_dose(rows), root, rtol=1e-15)
    np.testing.assert_allclose(IWPC_PHARMACOGENETIC.predict(rows), root**2, rtol=1e-15)
    scores = score(TwinKind.IWPC_WARFARIN, IWPC_PHARMACOGENETIC, rows)
    assert scores.value is not None
    np.testing.assert_allclose(scores.value, root**2, rtol=1e-15)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("vkorc1", 4.0, "vkorc1 must be a code 0..3"),
        ("cyp2c9", 1.5, "cyp2c9 must be a code 0..6"),
        ("race", -1.0, "race must be a code 0..3"),
        ("amiodarone", 2.0, "amiodarone must be 0 or 1"),
        ("enzyme_inducer", 0.5, "enzyme_inducer must be 0 or 1"),
        ("weight", 0.0, "height and weight must be positive"),
        ("age", math.nan, "NaN"),
    ],
)
def test_inputs_it_cannot_read_are_refused_by_name(column: str, value: float, message: str) -> None:
    x = row(60, 170, 70, "G/G", "*1/*1", "White", 0, 0)
    x[FEATURES.index(column)] = value
    with pytest.raises(DoseInputError, match=message):
        IWPC_PHARMACOGENETIC.predict(x)


def test_no_positive_dose_is_refused() -> None:
    # every dose-lowering input at its extreme: the linear predictor falls below zero
    x = row(95, 100, 25, "A/A", "*3/*3", "Black or African American", 0, 1)
    with pytest.raises(DoseInputError, match="no positive dose"):
        IWPC_PHARMACOGENETIC.predict(x)


def test_the_file_round_trips_and_holds_the_coefficients_as_data(tmp_path: Path) -> None:
    assert model_filename(TwinKind.IWPC_WARFARIN) == "model.json"
    (path,) = save_model(TwinKind.IWPC_WARFARIN, IWPC_PHARMACOGENETIC, tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "twinreg.iwpc_warfarin/1"
    assert data["intercept"] == INTERCEPT and data["amiodarone"] == AMIODARONE
    assert data["cyp2c9"] == [0.0, *CYP2C9.values()]
    assert "N Engl J Med 2009" in data["source"]
    assert load_model(TwinKind.IWPC_WARFARIN, tmp_path) == IWPC_PHARMACOGENETIC


def test_only_an_iwpc_model_is_written(tmp_path: Path) -> None:
    with pytest.raises(ArtifactFormatError, match="expected an IwpcWarfarinModel"):
        save_model(TwinKind.IWPC_WARFARIN, {"intercept": 5.6}, tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "twinreg.cox_linear/1"}, "not an IWPC warfarin model"),
        ({"extra": 1.0}, "unknown keys \\['extra'\\]"),
        ({"race": [0.0, -0.1]}, "race needs 4 finite coefficients"),
        ({"vkorc1": [0.5, -0.8677, -1.6974, -0.4854]}, "reference code 0"),
        ({"intercept": True}, "finite numbers"),
        ({"amiodarone": "-0.55"}, "finite numbers"),
        ({"cyp2c9": "none"}, "must be a list"),
    ],
)
def test_a_tampered_file_is_refused(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    data = {**IWPC_PHARMACOGENETIC.to_dict(), **change}
    (tmp_path / "model.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ArtifactFormatError, match=message):
        load_model(TwinKind.IWPC_WARFARIN, tmp_path)


def test_a_missing_key_is_refused() -> None:
    data = IWPC_PHARMACOGENETIC.to_dict()
    del data["weight_kg"]
    with pytest.raises(ArtifactFormatError, match="missing keys \\['weight_kg'\\]"):
        IwpcWarfarinModel.from_dict(data)
