"""The IWPC warfarin twin through the real app: genotypes are genomic data, so only a
consent that names ``genomic`` covers a prediction (a consent for every other category is
not enough); released doses are the published formula, explained additively in mg/week.

The expected dose is computed here from the coefficients as published (NEJM 2009,
supplementary appendix), never from the production tables.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from models.card import DATA_CATEGORIES
from tests.api.helpers import GATE_ORDER, prepare_patient

MODEL = "iwpc-warfarin"
EVERY_CATEGORY_BUT_GENOMIC = sorted(DATA_CATEGORIES - {"genomic"})

# 67 years, 175 cm, 82 kg, VKORC1 A/G (1), CYP2C9 *1/*3 (2), Asian (1), amiodarone.
PATIENT = {
    "age": 67, "height": 175.0, "weight": 82.0, "vkorc1": 1, "cyp2c9": 2, "race": 1,
    "enzyme_inducer": 0, "amiodarone": 1,
}  # fmt: skip


def published_dose() -> float:
    """sqrt(dose) = 5.6044 - 0.2614 * decades + 0.0087 * cm + 0.0128 * kg - 0.8677 (A/G)
    - 0.9357 (*1/*3) - 0.1092 (Asian) - 0.5503 (amiodarone), squared."""
    decades = 67 // 10
    root = 5.6044 - 0.2614 * decades + 0.0087 * 175.0 + 0.0128 * 82.0
    root += -0.8677 - 0.9357 - 0.1092 - 0.5503
    return root**2


def predict(api: Any, patient: str, features: dict[str, Any] | None = None) -> Any:
    body = {"model": MODEL, "patient_id": patient, "purpose": "treatment",
            "features": PATIENT if features is None else features}  # fmt: skip
    return api.client.post("/v1/predictions", json=body, headers=api.clinician)


def prediction_record(api: Any, audit_id: str) -> dict[str, Any]:
    records = api.client.get(
        "/v1/audit/records", params={"action": "prediction"}, headers=api.ethics
    ).json()
    record: dict[str, Any] = next(r for r in records if r["record_id"] == audit_id)
    return record


def test_a_consent_for_every_other_category_does_not_cover_genotypes(api: Any) -> None:
    prepare_patient(api, "p-broad", EVERY_CATEGORY_BUT_GENOMIC)
    response = predict(api, "p-broad")
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["decision"] == "withheld"
    assert [r["check"] for r in body["reasons"]] == ["consent"]
    assert "['genomic']" in body["reasons"][0]["detail"]
    assert "prediction" not in body and "explanation" not in body
    record = prediction_record(api, body["audit_id"])
    assert record["decision"] == "withheld"
    assert record["model"] == MODEL
    failed = [c for c in record["checks"] if not c["passed"]]
    assert [c["check"] for c in failed] == ["consent"]
    assert "genomic" in failed[0]["detail"]


def test_a_consent_naming_genomic_releases_the_published_dose_in_mg_per_week(
    api: Any,
) -> None:
    prepare_patient(api, "p-genomic", ["demographics", "vitals", "medication", "genomic"])
    response = predict(api, "p-genomic")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "released"
    assert body["prediction"]["kind"] == "value"
    assert body["prediction"]["value"] == pytest.approx(published_dose(), rel=1e-12)
    assert body["prediction"]["value"] == pytest.approx(17.1827, abs=1e-4)
    explanation = body["explanation"]
    assert explanation["output_space"] == "dose_mg_per_week"
    assert explanation["output_value"] == body["prediction"]["value"]
    total = math.fsum([explanation["base_value"], *explanation["contributions"].values()])
    assert total == pytest.approx(explanation["output_value"], rel=1e-9)
    assert set(explanation["contributions"]) == set(PATIENT)
    assert explanation["contributions"]["vkorc1"] < 0  # A/G lowers the dose
    record = prediction_record(api, body["audit_id"])
    assert record["decision"] == "released"
    assert [c["check"] for c in record["checks"]] == GATE_ORDER


def test_withdrawing_the_genomic_consent_withholds_again(api: Any) -> None:
    consent = prepare_patient(api, "p-w", ["demographics", "vitals", "medication", "genomic"])
    assert predict(api, "p-w").status_code == 200
    withdrawn = api.client.post(
        f"/v1/patients/p-w/consents/{consent}/withdraw", json={}, headers=api.clinician
    )
    assert withdrawn.status_code == 200, withdrawn.text
    prepare_patient(api, "p-w", EVERY_CATEGORY_BUT_GENOMIC)
    response = predict(api, "p-w")
    assert response.status_code == 403, response.text
    assert [r["check"] for r in response.json()["reasons"]] == ["consent"]


@pytest.mark.parametrize(
    ("feature", "value", "says"),
    [
        ("vkorc1", 4, "outside the allowed range"),
        ("cyp2c9", 1.5, "must be a whole number"),
        ("amiodarone", 2, "must be 0 or 1"),
        ("weight", 10, "outside the allowed range"),
    ],
)
def test_a_value_the_algorithm_cannot_read_is_a_422_naming_the_field(
    api: Any, feature: str, value: float, says: str
) -> None:
    prepare_patient(api, "p-bad", ["demographics", "vitals", "medication", "genomic"])
    response = predict(api, "p-bad", {**PATIENT, feature: value})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == f"features.{feature}"
    assert says in body["detail"]
    refused = api.service.audit.records(action="prediction.refused", limit=1000)
    assert refused and refused[-1]["decision"] == "refused"


@pytest.mark.parametrize("broad", [["all"], ["*"], ["any"]])
def test_no_broad_consent_exists_to_stand_in_for_genomic(api: Any, broad: list[str]) -> None:
    response = api.client.put("/v1/patients/p-all", json={"site": "st-mary"}, headers=api.clinician)
    assert response.status_code == 200, response.text
    response = api.client.post(
        "/v1/patients/p-all/consents",
        json={"purpose": "treatment", "data_categories": broad},
        headers=api.clinician,
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "data_categories"
    assert predict(api, "p-all").json()["reasons"][0]["check"] == "consent"
