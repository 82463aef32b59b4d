"""The observation kind table (policies/observation_kinds.toml) and the observation schema:
every listed kind, unit conversions to the stored unit, and a 422-worthy fault named by
entry and field for each way an entry can be wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from governance.errors import InvalidInput, PolicyError
from governance.policy.observation_kinds import parse_observation_kinds
from governance.policy.store import PolicySet
from governance.twins.entries import check_entries

REPO = Path(__file__).resolve().parents[3]
KINDS = PolicySet(REPO / "policies").observation_kinds
AT = "2026-03-01T08:00:00+01:00"


def entry(**fields: Any) -> dict[str, Any]:
    return {"id": "o1", "source": "lab", "time": AT, **fields}


def test_the_table_lists_the_kinds_issue_14_names_with_their_categories() -> None:
    expected = {
        "vancomycin_dose": "medication",
        "vancomycin_level": "labs",
        "serum_creatinine": "labs",
        "weight": "demographics",
        "age": "demographics",
        "sex": "demographics",
        "dialysis_status": "history",
        "glucose_cgm": "labs",
        "glucose_fingerstick": "labs",
        "meal": "history",
        "insulin_bolus": "medication",
        "insulin_basal": "medication",
        "radiotherapy_fraction": "medication",
        "tumour_volume": "imaging",
        "blood_pressure": "vitals",
        "heart_rate": "vitals",
        "genotype_cyp2c9": "genomic",
    }
    assert {k: KINDS[k].category for k in expected} == expected
    assert KINDS["vancomycin_level"].codes == {"4092-3", "4090-7", "20578-1"}
    assert {"99504-3", "105272-9"} <= KINDS["glucose_cgm"].codes
    assert {"41653-7", "2339-0"} <= KINDS["glucose_fingerstick"].codes
    assert KINDS["insulin_bolus"].quantity is not None
    assert KINDS["insulin_bolus"].quantity.unit == "[IU]"


@pytest.mark.parametrize(
    ("unit", "value", "stored"),
    [("mg/dL", 1.0, 1.0), ("umol/L", 88.4, 1.0), ("umol/L", 176.8, 2.0)],
)
def test_creatinine_is_stored_in_mg_per_dl_from_either_unit(
    unit: str, value: float, stored: float
) -> None:
    [checked] = check_entries(
        [entry(kind="serum_creatinine", value=value, unit=unit, code="2160-0")], KINDS
    )
    assert checked.unit == "mg/dL" and checked.value == pytest.approx(stored, rel=1e-12)
    assert checked.category == "labs"


def test_components_are_converted_and_times_kept_with_their_zone() -> None:
    [dose] = check_entries(
        [
            entry(
                kind="vancomycin_dose",
                components={
                    "amount": {"value": 1.5, "unit": "g"},
                    "start": AT,
                    "duration": {"value": 90, "unit": "min"},
                },
            )
        ],
        KINDS,
    )
    assert dose.components["amount"] == 1500.0
    assert dose.components["duration"] == pytest.approx(1.5)
    assert dose.components["start"] == "2026-03-01T08:00:00+01:00"


BAD: list[tuple[dict[str, Any], str]] = [
    (entry(kind="serum_creatinine", value=88.4, unit="mg/dL"), "observations[1].value"),
    (entry(kind="serum_creatinine", value=1.0, unit="mmol/mol"), "observations[1].unit"),
    (entry(kind="serum_creatinine", value=1.0, unit="kg"), "observations[1].unit"),
    (entry(kind="serum_creatinine", value=1.0), "observations[1].unit"),
    (entry(kind="serum_creatinine", value=float("nan"), unit="mg/dL"), "observations[1].value"),
    (entry(kind="serum_creatinine", value=True, unit="mg/dL"), "observations[1].value"),
    (entry(kind="vancomycin_level", value=15, unit="mg/L", code="2160-0"), "observations[1].code"),
    (entry(kind="vancomycin_level", value=-1, unit="mg/L"), "observations[1].value"),
    (entry(kind="heart_rate", value=5000, unit="/min"), "observations[1].value"),
    (entry(kind="glucose_cgm", value=5.5, unit="mmol/mol"), "observations[1].unit"),
    (entry(kind="no_such_kind", value=1, unit="mg"), "observations[1].kind"),
    (entry(kind="sex", value="other"), "observations[1].value"),
    (entry(kind="sex", value="female", unit="mg"), "observations[1].value"),
    ({**entry(kind="weight", value=70, unit="kg"), "time": "2026-03-01T08:00:00"},
     "observations[1].time"),
    ({**entry(kind="weight", value=70, unit="kg"), "time": "2026-03-01"}, "observations[1].time"),
    ({**entry(kind="weight", value=70, unit="kg"), "extra": 1}, "observations[1].extra"),
    ({**entry(kind="weight", value=70, unit="kg"), "id": ""}, "observations[1].id"),
    ({**entry(kind="weight", value=70, unit="kg"), "source": None}, "observations[1].source"),
    (entry(kind="blood_pressure", components={"systolic": {"value": 120, "unit": "mm[Hg]"}}),
     "observations[1].components.diastolic"),
    (entry(kind="blood_pressure", components={
        "systolic": {"value": 120, "unit": "mm[Hg]"},
        "diastolic": {"value": 80, "unit": "cm[H2O]"}}),
     "observations[1].components.diastolic.unit"),
    (entry(kind="blood_pressure", value=120, unit="mm[Hg]"), "observations[1].components"),
    (entry(kind="meal", components={"carbs": {"value": 900, "unit": "g"}, "start": AT}),
     "observations[1].components.carbs.value"),
    (entry(kind="insulin_basal", components={
        "rate": {"value": 1, "unit": "[IU]/h"}, "start": AT, "end": "noon"}),
     "observations[1].components.end"),
]  # fmt: skip


@pytest.mark.parametrize(("bad", "field"), BAD)
def test_each_fault_is_refused_naming_the_entry_and_field(bad: dict[str, Any], field: str) -> None:
    good = entry(kind="weight", value=70, unit="kg", id="o0")
    with pytest.raises(InvalidInput) as caught:
        check_entries([good, bad], KINDS)
    assert caught.value.field == field
    assert field in str(caught.value)


def test_one_key_twice_in_a_request_with_other_content_is_refused() -> None:
    a = entry(kind="weight", value=70, unit="kg")
    assert len(check_entries([a, dict(a)], KINDS)) == 2
    with pytest.raises(InvalidInput, match=r"observations\[1\]"):
        check_entries([a, {**a, "value": 71}], KINDS)


@pytest.mark.parametrize(
    "text",
    [
        "[kinds.x]\ncategory = 'labs'\n",
        "[kinds.x]\ncategory = 'nope'\nunit = 'mg'\nbounds = [0, 1]\nunits = {mg = 1.0}\n",
        "[kinds.x]\ncategory = 'labs'\nunit = 'mg'\nbounds = [1, 0]\nunits = {mg = 1.0}\n",
        "[kinds.x]\ncategory = 'labs'\nunit = 'mg'\nbounds = [0, 1]\nunits = {g = 1.0}\n",
        "[kinds.x]\ncategory = 'labs'\nunit = 'mg'\nbounds = [0, 1]\nunits = {mg = 1.0, g = -1}\n",
        "[kinds.x]\ncategory = 'labs'\nvalues = []\n",
        "kinds = 1\n",
        "not toml [",
    ],
)
def test_a_malformed_table_is_a_policy_error(text: str) -> None:
    with pytest.raises(PolicyError, match=r"observation_kinds\.toml"):
        parse_observation_kinds(text)
