"""A twin's features from FHIR resources through policies/cds_feature_codes.toml: units
converted, panels' components read, the latest final value taken, conditions' statuses
honoured, and a feature without a value missing with why (never defaulted)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from api.cds.errors import HookRequestInvalid
from api.cds.features import from_held, from_prefetch
from api.cds.fhir_input import read_prefetch
from governance.errors import PolicyError
from governance.policy.feature_codes import parse_feature_codes
from tests.api.cds.ehr import bundle, condition, observation, patient

REPO = Path(__file__).resolve().parents[3]
CODES = parse_feature_codes((REPO / "policies" / "cds_feature_codes.toml").read_text())
SPECS = CODES.features["whas500-mortality"]
NAMES = tuple(SPECS)
TODAY = date(2026, 3, 2)


def facts(observations: list[dict[str, object]] | None = None,
          conditions: list[dict[str, object]] | None = None, **patient_fields: object):  # type: ignore[no-untyped-def]  # fmt: skip
    prefetch: dict[str, object] = {
        "patient": patient("p-1", date(1950, 6, 1), str(patient_fields.get("gender", "male")))
    }
    if observations is not None:
        prefetch["observations"] = bundle(observations)  # type: ignore[arg-type]
    if conditions is not None:
        prefetch["conditions"] = bundle(conditions)  # type: ignore[arg-type]
    return read_prefetch(prefetch, "p-1")


def test_units_panels_and_the_latest_final_value() -> None:
    observations = [
        observation("a", "p-1", "8867-4", "2026-03-01T08:00:00Z", 70, "/min"),
        observation("b", "p-1", "8867-4", "2026-03-01T09:00:00Z", 90, "/min"),
        observation("c", "p-1", "8867-4", "2026-03-01T10:00:00Z", 120, "/min",
                    status="entered-in-error"),
        observation("bp", "p-1", "85354-9", "2026-03-01T09:00:00Z",
                    components=[("8480-6", 16.0, "kPa"), ("8462-4", 80, "mm[Hg]")]),
    ]  # fmt: skip
    got = from_prefetch(NAMES, SPECS, facts(observations, []), TODAY)
    assert got.values["hr"] == 90  # the latest final one
    assert got.values["sysbp"] == pytest.approx(16.0 * 7.500615758456563)
    assert got.values["diasbp"] == 80
    assert got.values["age"] == 75 and got.values["gender"] == 0
    assert "bmi" in got.missing and "39156-5" in got.missing["bmi"]


def test_a_unit_not_in_the_map_is_missing_not_guessed() -> None:
    observations = [observation("a", "p-1", "8867-4", "2026-03-01T08:00:00Z", 1.5, "/s")]
    got = from_prefetch(NAMES, SPECS, facts(observations, []), TODAY)
    assert "hr" not in got.values and "'/s'" in got.missing["hr"]


def test_conditions_present_absent_resolved_and_refuted() -> None:
    conditions = [
        condition("c1", "p-1", "49436004"),  # atrial fibrillation: active
        condition("c2", "p-1", "42343007", status="resolved"),  # CHF resolved: not now
        condition("c3", "p-1", "49601007", status="resolved"),  # CVD: a history counts
        condition("c4", "p-1", "314207007"),  # non-Q wave MI: mitype 0
    ]
    refuted = condition("c5", "p-1", "89138009")
    refuted["verificationStatus"] = {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
        "code": "refuted"}]}  # fmt: skip
    got = from_prefetch(NAMES, SPECS, facts([], [*conditions, refuted]), TODAY)
    assert (got.values["afb"], got.values["chf"], got.values["cvd"]) == (1, 0, 1)
    assert got.values["sho"] == 0 and got.values["mitype"] == 0
    assert got.values["miord"] == 0  # no earlier MI on the problem list


def test_without_conditions_prefetched_they_are_missing() -> None:
    got = from_prefetch(NAMES, SPECS, facts([], None), TODAY)
    for name in ("cvd", "afb", "sho", "chf", "av3", "miord", "mitype"):
        assert got.missing[name] == "no conditions were prefetched"


def test_mitype_needs_a_code_for_either_value() -> None:
    got = from_prefetch(NAMES, SPECS, facts([], []), TODAY)
    assert got.missing["mitype"] == "no Condition says either value"


def test_held_observations_by_kind_and_component() -> None:
    entries = [
        {"kind": "heart_rate", "time": "2026-03-01T08:00:00+00:00", "value": 70.0},
        {"kind": "heart_rate", "time": "2026-03-01T09:00:00+00:00", "value": 95.0},
        {"kind": "blood_pressure", "time": "2026-03-01T09:00:00+00:00",
         "components": {"systolic": 120.0, "diastolic": 70.0}},
        {"kind": "sex", "time": "2026-03-01T09:00:00+00:00", "value": "female"},
    ]  # fmt: skip
    got = from_held(NAMES, SPECS, entries)
    assert (got.values["hr"], got.values["sysbp"], got.values["gender"]) == (95, 120, 1)
    assert "age" in got.missing and "bmi" in got.missing


def test_resources_of_another_patient_or_invalid_fhir_are_refused() -> None:
    with pytest.raises(HookRequestInvalid) as caught:
        read_prefetch({"observations": bundle([observation(
            "a", "p-2", "8867-4", "2026-03-01T08:00:00Z", 70, "/min")])}, "p-1")  # fmt: skip
    assert caught.value.field == "prefetch.observations"
    with pytest.raises(HookRequestInvalid, match="valid FHIR R4 Patient"):
        read_prefetch({"patient": {"resourceType": "Patient", "birthDate": "not a date"}}, "p-1")


def test_a_malformed_map_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="source"):
        parse_feature_codes('[features.m.x]\nsource = "guess"\n')
    with pytest.raises(PolicyError, match="system\\|code"):
        parse_feature_codes('[features.m.x]\nsource = "condition"\npresent = ["49436004"]\n')
