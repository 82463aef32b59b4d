"""A message's readings: FHIR Observation and observation-schema entries checked against
the real kind table; each refusal says why and names what to fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.streams.errors import Refused
from api.streams.readings import MAX_READINGS, readings
from governance.policy.observation_kinds import parse_observation_kinds
from tests.api.streams.readings_helpers import cgm

KINDS = parse_observation_kinds(
    (Path(__file__).resolve().parents[3] / "policies" / "observation_kinds.toml").read_text()
)


def read(value: Any) -> list[Any]:
    return readings("cgm-1", json.dumps(value).encode(), KINDS)


def refusal(value: Any) -> Refused:
    with pytest.raises(Refused) as caught:
        read(value)
    return caught.value


def test_a_fhir_cgm_reading_becomes_an_observation_in_stored_units() -> None:
    (reading,) = read(
        cgm("r1", 0, mg_dl=6.0)
        | {"valueQuantity": {"value": 6.0, "system": "http://unitsofmeasure.org", "code": "mmol/L"}}
    )
    entry = reading.entry
    assert (entry.id, entry.source, entry.kind, entry.code) == (
        "r1",
        "device/cgm-1",
        "glucose_cgm",
        "99504-3",
    )
    assert entry.value == pytest.approx(6.0 * 18.016) and entry.unit == "mg/dL"
    assert entry.category == "labs"


def test_the_observation_schema_and_lists_are_read_too() -> None:
    raw = {
        "id": "b1",
        "kind": "insulin_bolus",
        "time": "2026-03-01T08:00:00Z",
        "value": 4,
        "unit": "[IU]",
    }
    found = read([raw, cgm("r2", 5)])
    assert [r.entry.kind for r in found] == ["insulin_bolus", "glucose_cgm"]
    assert found[0].raw["source"] == "device/cgm-1"


@pytest.mark.parametrize(
    "value,reason,words",
    [
        (cgm("r", 0, subject={"reference": "Patient/1"}), "names_patient", "subject"),
        ({"id": "b", "kind": "weight", "patient_id": "p-1"}, "names_patient", "patient_id"),
        ({"resourceType": "Patient"}, "malformed", "Observation"),
        ([], "malformed", f"1 to {MAX_READINGS}"),
        ("text", "malformed", "JSON object"),
        (cgm("r", 0, status="preliminary"), "invalid", "Observation.status"),
        (cgm("r", 0, component=[]), "invalid", "Observation.component"),
        ({**cgm("r", 0), "identifier": []}, "invalid", "Observation.identifier"),
        (
            {**cgm("r", 0), "code": {"coding": [{"system": "http://loinc.org", "code": "1-8"}]}},
            "invalid",
            "Observation.code.coding",
        ),
        (
            {**cgm("r", 0), "valueQuantity": {"value": 1, "code": "mg/dL"}},
            "invalid",
            "valueQuantity.system",
        ),
        (cgm("r", 0, mg_dl=5000), "invalid", "physiological bounds"),
        ({**cgm("r", 0), "effectiveDateTime": "2026-03-01T08:00:00"}, "invalid", "zone"),
        (
            {
                "id": "b",
                "source": "ward",
                "kind": "weight",
                "time": "2026-03-01T08:00:00Z",
                "value": 70,
                "unit": "kg",
            },
            "invalid",
            "device/cgm-1",
        ),
    ],
)
def test_refusals_say_why(value: Any, reason: str, words: str) -> None:
    refused = refusal(value)
    assert refused.reason == reason and words in str(refused), str(refused)


def test_bytes_that_are_not_json_are_malformed() -> None:
    with pytest.raises(Refused) as caught:
        readings("cgm-1", b"\xff\xfe", KINDS)
    assert caught.value.reason == "malformed"
