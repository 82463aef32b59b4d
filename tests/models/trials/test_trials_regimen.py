"""Regimens as data: what is accepted, and a clear refusal (naming the field) otherwise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.errors import ModelsError
from models.trials import Regimen, TrialInputError


def test_a_weight_based_regimen_doses_each_patient_by_weight() -> None:
    regimen = Regimen.from_mapping({"dose_mg_per_kg": 15, "interval_h": 12, "n_doses": 6})
    assert regimen.infusion_h == 1.0
    assert regimen.doses_mg(np.array([60.0, 100.0])).tolist() == [900.0, 1500.0]
    assert regimen.describe() == "15 mg/kg q12h over 1 h x 6"
    assert Regimen.from_mapping(regimen.as_dict()) == regimen


def test_a_fixed_dose_is_the_same_for_everyone_and_starts_every_interval() -> None:
    regimen = Regimen(interval_h=8, infusion_h=1.5, n_doses=20, dose_mg=1000)
    assert regimen.doses_mg(np.array([50.0, 120.0])).tolist() == [1000.0, 1000.0]
    assert regimen.dose_starts(72.0).tolist() == [8.0 * k for k in range(9)]
    assert regimen.as_dict() == {
        "dose_mg": 1000.0,
        "interval_h": 8.0,
        "infusion_h": 1.5,
        "n_doses": 20,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"interval_h": 12, "n_doses": 6}, "regimen.dose"),
        ({"dose_mg": 1000, "dose_mg_per_kg": 15, "interval_h": 12, "n_doses": 6}, "regimen.dose"),
        ({"dose_mg": 0, "interval_h": 12, "n_doses": 6}, "regimen.dose_mg"),
        ({"dose_mg": math.nan, "interval_h": 12, "n_doses": 6}, "regimen.dose_mg"),
        ({"dose_mg": "1000", "interval_h": 12, "n_doses": 6}, "regimen.dose_mg"),
        ({"dose_mg_per_kg": 150, "interval_h": 12, "n_doses": 6}, "regimen.dose_mg_per_kg"),
        ({"dose_mg": 1000, "interval_h": 0.5, "n_doses": 6}, "regimen.interval_h"),
        ({"dose_mg": 1000, "interval_h": 8, "infusion_h": 9, "n_doses": 6}, "regimen.infusion_h"),
        ({"dose_mg": 1000, "interval_h": 8, "infusion_h": 0, "n_doses": 6}, "regimen.infusion_h"),
        ({"dose_mg": 1000, "interval_h": 12, "n_doses": 0}, "regimen.n_doses"),
        ({"dose_mg": 1000, "interval_h": 12, "n_doses": 2.5}, "regimen.n_doses"),
        ({"dose_mg": 1000, "interval_h": 12, "n_doses": True}, "regimen.n_doses"),
        ({"dose_mg": 1000, "n_doses": 6}, "regimen.interval_h"),
        ({"dose_mg": 1000, "interval_h": 12, "n_doses": 6, "route": "oral"}, "regimen"),
    ],
)
def test_an_invalid_regimen_is_refused_naming_the_field(
    body: dict[str, object], field: str
) -> None:
    with pytest.raises(TrialInputError) as caught:
        Regimen.from_mapping(body)
    assert caught.value.field == field
    assert isinstance(caught.value, ModelsError)
    assert isinstance(caught.value, ValueError)
    assert field in str(caught.value)
