"""The twin page's forecast forms read as the API's forecast requests, one per kind: the
planned events in the observations' entry schema (stored units named), a blank optional
event not planned, a missing or malformed field refused naming it."""

from __future__ import annotations

import pytest

from api.http.pages.twin_plans import FIELDS, forecast_request
from governance.errors import InvalidInput

START = {"start": "2026-03-03T00:00", "horizon_h": "12"}


def test_a_glucose_form_plans_the_meal_its_bolus_and_a_temporary_basal() -> None:
    form = {**START, "plan": "glucose_t1d", "meal_time": "2026-03-03T02:00", "carbs_g": "60",
            "bolus_iu": "6", "basal_rate": "0.5", "basal_from": "2026-03-03T04:00",
            "basal_to": "2026-03-03T06:00"}  # fmt: skip
    asked = forecast_request(form)
    assert asked["start"] == "2026-03-03T00:00:00+00:00" and asked["horizon_h"] == 12.0
    meal, bolus, basal = asked["scenario"]
    assert meal == {"kind": "meal", "time": "2026-03-03T02:00:00+00:00",
                    "components": {"carbs": {"value": 60.0, "unit": "g"},
                                   "start": "2026-03-03T02:00:00+00:00"}}  # fmt: skip
    assert bolus["kind"] == "insulin_bolus" and bolus["value"] == 6.0 and bolus["unit"] == "[IU]"
    assert basal["components"]["rate"] == {"value": 0.5, "unit": "[IU]/h"}
    assert basal["components"]["end"] == "2026-03-03T06:00:00+00:00"


def test_blank_optional_events_are_not_planned() -> None:
    for plan in ("glucose_t1d", "windkessel"):
        assert "scenario" not in forecast_request({**START, "plan": plan, "carbs_g": ""})
    radio = {"plan": "radiotherapy", "start": START["start"], "horizon_days": "28"}
    assert forecast_request(radio) == {"start": "2026-03-03T00:00:00+00:00", "horizon_h": 672.0}


def test_a_radiotherapy_form_plans_its_fractions_and_a_windkessel_form_its_heart_rate() -> None:
    radio = {"plan": "radiotherapy", "start": START["start"], "horizon_days": "28",
             "n_fractions": "3", "dose_gy": "2", "first_fraction": "2026-03-04T08:00",
             "every_days": "2"}  # fmt: skip
    fractions = forecast_request(radio)["scenario"]
    assert [f["time"][:10] for f in fractions] == ["2026-03-04", "2026-03-06", "2026-03-08"]
    assert {(f["kind"], f["value"], f["unit"]) for f in fractions} == {
        ("radiotherapy_fraction", 2.0, "Gy")
    }
    heart = {**START, "plan": "windkessel", "hr_time": "2026-03-03T06:00", "hr_bpm": "90"}
    assert forecast_request(heart)["scenario"] == [
        {"kind": "heart_rate", "time": "2026-03-03T06:00:00+00:00", "value": 90.0, "unit": "/min"}
    ]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"plan": "glucose_t1d", "horizon_h": "12"}, "start"),
        ({**START, "plan": "windkessel", "hr_bpm": "90"}, "hr_time"),
        ({**START, "plan": "glucose_t1d", "carbs_g": "lots"}, "carbs_g"),
        ({**START, "plan": "glucose_t1d", "basal_rate": "1"}, "basal_from"),
        ({**START, "plan": "pk_vancomycin", "dose_mg": "1000"}, "interval_h"),
        ({**START, "plan": "warfarin"}, "plan"),
    ],
)
def test_a_missing_or_malformed_field_is_refused_naming_it(
    form: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        forecast_request(form)
    assert refused.value.field == field


def test_every_field_names_its_unit_or_is_a_time_or_a_count() -> None:
    for fields in FIELDS.values():
        for f in fields:
            assert f.unit or f.kind in ("time", "count"), f
