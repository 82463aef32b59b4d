"""CDS Hooks `risk` (patient-view): the whas500 twin's explained prediction from prefetched
FHIR resources through the same release gate as /v1/predictions; missing features, a
withheld decision and an absent prefetch each give an info card saying why."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from api.composition.settings import Settings
from governance.audit.reads import payload_of
from models.demo_twins import DemoTwin
from tests.api.cds.app import ehr_app
from tests.api.cds.ehr import (
    BASE,
    SNOMED,
    Ehr,
    bundle,
    condition,
    observation,
    patient,
)
from tests.api.helpers import features_of, prepare_patient, twin_named

MODEL = "whas500-mortality"
CATEGORIES = ["demographics", "vitals", "history"]
WHEN = "2026-03-01T10:00:00Z"
CONDITIONS = {"cvd": "49601007", "afb": "49436004", "sho": "89138009", "chf": "42343007",
              "av3": "27885002", "miord": "399211009"}  # fmt: skip


@pytest.fixture()
def ehr(settings: Settings, tmp_path: Path) -> Iterator[tuple[Any, Ehr]]:
    with ehr_app(settings, tmp_path) as pair:
        yield pair


def prefetch_for(features: dict[str, float], pid: str = "p-1",
                 unit_text: str = "mm[Hg]") -> dict[str, Any]:  # fmt: skip
    """The FHIR resources an EHR prefetches for a patient with these WHAS500 features."""
    today = datetime.now(UTC).date()
    birth = date(today.year - int(features["age"]), 1, 1)
    gender = "female" if features["gender"] == 1 else "male"
    observations = [
        observation("o-hr", pid, "8867-4", WHEN, features["hr"], "/min"),
        observation("o-bp", pid, "85354-9", WHEN, components=[
            ("8480-6", features["sysbp"], unit_text), ("8462-4", features["diasbp"], "mm[Hg]")]),
        observation("o-bmi", pid, "39156-5", WHEN, features["bmi"], "kg/m2"),
    ]  # fmt: skip
    conditions = [condition(f"c-{n}", pid, code) for n, code in CONDITIONS.items()
                  if features[n] == 1]  # fmt: skip
    conditions.append(condition("c-mi", pid, "304914007" if features["mitype"] else "314207007"))
    return {"patient": patient(pid, birth, gender), "observations": bundle(observations),
            "conditions": bundle(conditions)}  # fmt: skip


def test_the_risk_card_is_the_released_prediction(
    ehr: tuple[Any, Ehr], demo_twins: list[DemoTwin]
) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", CATEGORIES)
    features = features_of(twin_named(demo_twins, MODEL), 3)
    r = client.call("risk", {"patientId": "p-1"}, prefetch_for(features))
    assert r.status_code == 200, r.text
    [card] = r.json()["cards"]
    # the same service call as /v1/predictions: the same prediction for the same features
    direct = api.client.post(
        "/v1/predictions",
        headers=api.clinician,
        json={"model": MODEL, "patient_id": "p-1", "purpose": "treatment", "features": features},
    )
    assert direct.status_code == 200, direct.text
    value = direct.json()["prediction"]["value"]
    assert f"{value:.0%}" in card["summary"] and len(card["summary"]) <= 140
    version = direct.json()["model_version"]
    assert card["indicator"] == ("warning" if value >= 0.5 else "info")
    assert card["source"] == {
        "label": f"twinreg: {MODEL} v{version}",
        "url": f"{BASE}/ui/models/{MODEL}/versions/{version}",
    }
    assert card["links"][0]["url"] == card["source"]["url"]
    action, decision = payload_of(api.service.engine, card["uuid"]) or ("", {})
    assert action == "prediction" and decision["decision"] == "released"
    assert decision["principal"] == {"user": "carla", "role": "clinician", "site": "st-mary"}
    assert "| feature | value | contribution | from |" in card["detail"]
    found = direct.json()["prediction"]["range"]  # the same range, in the card's detail
    assert f"(90% range {found['low']:.0%}\u2013{found['high']:.0%})" in card["detail"]


def test_missing_features_give_an_info_card_naming_them(
    ehr: tuple[Any, Ehr], demo_twins: list[DemoTwin]
) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", CATEGORIES)
    prefetch = prefetch_for(features_of(twin_named(demo_twins, MODEL), 3))
    prefetch["conditions"] = None  # the EHR could not fetch them
    del prefetch["observations"]["entry"][2]  # no BMI
    r = client.call("risk", {"patientId": "p-1"}, prefetch)
    [card] = r.json()["cards"]
    assert card["indicator"] == "info" and "missing" in card["summary"]
    for name in ("bmi", "cvd", "afb", "sho", "chf", "av3", "miord", "mitype"):
        assert name in card["summary"]
    assert "hr" not in card["summary"].split("missing")[1].split(", ")
    action, record = payload_of(api.service.engine, card["uuid"]) or ("", {})
    assert action == "prediction.refused" and "bmi" in record["missing"]


def test_a_withheld_decision_names_the_check_and_nothing_of_the_result(
    ehr: tuple[Any, Ehr], demo_twins: list[DemoTwin]
) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", ["demographics", "vitals"])  # no consent for history
    r = client.call("risk", {"patientId": "p-1"},
                    prefetch_for(features_of(twin_named(demo_twins, MODEL), 3)))  # fmt: skip
    [card] = r.json()["cards"]
    assert card["indicator"] == "info" and "check 'consent' failed" in card["summary"]
    assert "%" not in card["summary"] + card["detail"] and "contribution" not in card["detail"]
    action, decision = payload_of(api.service.engine, card["uuid"]) or ("", {})
    assert action == "prediction" and decision["decision"] == "withheld"
    assert "url" not in card["source"]  # no version is named for a withheld decision


def test_ehr_text_is_escaped_in_the_markdown(
    ehr: tuple[Any, Ehr], demo_twins: list[DemoTwin]
) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", CATEGORIES)
    prefetch = prefetch_for(features_of(twin_named(demo_twins, MODEL), 3),
                            unit_text="[x](https://evil.test)<b>")  # fmt: skip
    [card] = client.call("risk", {"patientId": "p-1"}, prefetch).json()["cards"]
    assert "sysbp" in card["summary"]  # a unit twinreg does not accept: missing
    assert "[x](https" not in card["detail"] and "<b>" not in card["detail"]
    assert r"\[x\]\(https\:" in card["detail"]


def test_without_prefetch_the_card_comes_from_what_twinreg_holds(
    ehr: tuple[Any, Ehr], demo_twins: list[DemoTwin]
) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", [*CATEGORIES, "labs", "medication"])
    entries = [
        {"id": "hr", "source": "ward", "kind": "heart_rate", "time": WHEN, "value": 88,
         "unit": "/min"},
        {"id": "bp", "source": "ward", "kind": "blood_pressure", "time": WHEN, "components": {
            "systolic": {"value": 130, "unit": "mm[Hg]"},
            "diastolic": {"value": 80, "unit": "mm[Hg]"}}},
        {"id": "age", "source": "ward", "kind": "age", "time": WHEN, "value": 70, "unit": "a"},
        {"id": "sex", "source": "ward", "kind": "sex", "time": WHEN, "value": "female"},
    ]  # fmt: skip
    r = api.client.post("/v1/patients/p-1/observations", headers=api.clinician,
                        json={"observations": entries, "purpose": "treatment"})  # fmt: skip
    assert r.status_code == 201, r.text
    [card] = client.call("risk", {"patientId": "p-1"}).json()["cards"]
    # held: age, gender, hr, sysbp, diasbp; not held anywhere in twinreg: the rest
    missing = card["summary"].split("missing ")[1].split(", ")
    assert sorted(missing) == ["afb", "av3", "bmi", "chf", "cvd", "miord", "mitype", "sho"]
    reads = api.service.audit.records(action="cds.observations.read")
    assert reads[-1]["read"] == 4 and reads[-1]["patient"]


def test_a_patient_of_another_patient_id_in_prefetch_is_422(
    ehr: tuple[Any, Ehr], demo_twins: list[DemoTwin]
) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", CATEGORIES)
    prefetch = prefetch_for(features_of(twin_named(demo_twins, MODEL), 3), pid="p-2")
    r = client.call("risk", {"patientId": "p-1"}, prefetch)
    assert r.status_code == 422 and r.json()["field"] == "prefetch.patient"
    assert SNOMED  # the codes module is the EHR's own
