"""CDS Hooks `vancomycin-dosing` (order-select) and `vancomycin-dosing-sign` (order-sign):
a draft vancomycin order answered from the patient's calibrated twin (built through the
/v1 routes) with the recommended regimen, its probability of target attainment and why,
and a suggestion replacing the draft; withheld or impossible: an info card saying why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from api.composition.settings import Settings
from governance.audit.reads import payload_of
from governance.identity.principal import Principal
from tests.api.cds.app import ehr_app
from tests.api.cds.ehr import BASE, UCUM, Ehr, bundle, coding
from tests.api.helpers import prepare_patient
from tests.api.twin_course import TWIN_CATEGORIES, VANCO, prepare_twin

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.fixture()
def ehr(settings: Settings, tmp_path: Path) -> Iterator[tuple[Any, Ehr]]:
    with ehr_app(settings, tmp_path) as pair:
        yield pair


def draft(oid: str = "d1", code: str = "11124", text: str = "vancomycin 1 g IV q12h",
          dose_mg: float = 1000, period_h: float = 12) -> dict[str, Any]:  # fmt: skip
    return {
        "resourceType": "MedicationRequest", "id": oid, "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/p-1"},
        "medicationCodeableConcept": {"coding": [coding(RXNORM, code)], "text": text},
        "dosageInstruction": [{
            "timing": {"repeat": {"frequency": 1, "period": period_h, "periodUnit": "h"}},
            "doseAndRate": [{"doseQuantity": {"value": dose_mg, "unit": "mg", "system": UCUM,
                                              "code": "mg"}}]}],
    }  # fmt: skip


def order_select(client: Ehr, *orders: dict[str, Any], service: str = "vancomycin-dosing") -> Any:
    hook = "order-select" if service == "vancomycin-dosing" else "order-sign"
    context: dict[str, Any] = {"patientId": "p-1", "draftOrders": bundle(list(orders))}
    if hook == "order-select":
        context["selections"] = [f"MedicationRequest/{o['id']}" for o in orders]
    return client.call(service, context, hook=hook)


@pytest.mark.parametrize("service", ["vancomycin-dosing", "vancomycin-dosing-sign"])
def test_the_dosing_card_replaces_the_draft_with_the_twins_regimen(
    ehr: tuple[Any, Ehr], service: str
) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", TWIN_CATEGORIES)
    twin = prepare_twin(api)
    r = order_select(client, draft(), service=service)
    assert r.status_code == 200, r.text
    [card] = r.json()["cards"]
    # the card's decision is the twin's recommendation, recorded in its thread
    thread = api.client.get(f"/v1/patients/p-1/twins/{twin}/thread", headers=api.clinician)
    [output] = [x for x in thread.json()["records"] if x["kind"] == "recommendation"]
    assert output["audit_id"] == card["uuid"]
    top = output["body"]["recommendation"]["regimens"][0]
    assert f"{top['dose_mg']:g} mg every {top['interval_h']:g} h" in card["summary"]
    assert f"{top['probability']:.0%} probability" in card["summary"]
    assert len(card["summary"]) <= 140 and "**Why:**" in card["detail"]
    assert "The draft order: 1000 mg every 12 h" in card["detail"].replace("\\", "")
    action, decision = payload_of(api.service.engine, card["uuid"]) or ("", {})
    assert action == "twin.recommendation" and decision["decision"] == "released"
    version = decision["model_version"]
    assert card["source"]["url"] == f"{BASE}/ui/models/{VANCO}/versions/{version}"
    assert card["links"][0]["url"] == f"{BASE}/v1/patients/p-1/twins/{twin}/thread"
    [suggestion] = card["suggestions"]
    assert card["selectionBehavior"] == "at-most-one" and suggestion["isRecommended"]
    [replace] = suggestion["actions"]
    assert replace["type"] == "update"
    order = MedicationRequest.model_validate(replace["resource"])  # valid FHIR R4
    assert order.id == "d1" and order.status == "draft"
    dosage = order.dosageInstruction[0]
    assert float(dosage.doseAndRate[0].doseQuantity.value) == top["dose_mg"]
    assert float(dosage.timing.repeat.period) == top["interval_h"]
    assert order.medicationCodeableConcept.coding[0].code == "11124"  # the rest is kept


def test_orders_that_are_not_vancomycin_get_no_card(ehr: tuple[Any, Ehr]) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", TWIN_CATEGORIES)
    r = order_select(client, draft(code="1659149", text="ceftriaxone 2 g IV"))
    assert r.status_code == 200 and r.json() == {"cards": []}


def test_without_a_twin_an_info_card_says_so(ehr: tuple[Any, Ehr]) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", TWIN_CATEGORIES)
    [card] = order_select(client, draft()).json()["cards"]
    assert card["indicator"] == "info" and "no vancomycin twin" in card["summary"]
    assert "suggestions" not in card
    action, record = payload_of(api.service.engine, card["uuid"]) or ("", {})
    assert action == "cds.refused" and record["error"] == "NoTwin"


def test_a_withheld_recommendation_names_the_check_only(ehr: tuple[Any, Ehr]) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", TWIN_CATEGORIES)
    prepare_twin(api)
    version = api.client.get(f"/v1/models/{VANCO}", headers=api.clinician).json()
    approved = next(v["version"] for v in version["versions"] if v["status"] == "approved")
    api.service.suspend(Principal("erin", "ethics_board"), VANCO, approved, "recall")
    [card] = order_select(client, draft()).json()["cards"]
    assert "check 'approval' failed" in card["summary"] and "suggestions" not in card
    assert "probability" not in card["detail"] and " mg every " not in card["detail"]
    action, decision = payload_of(api.service.engine, card["uuid"]) or ("", {})
    assert action == "twin.recommendation" and decision["decision"] == "withheld"


def test_draft_orders_for_another_patient_are_422(ehr: tuple[Any, Ehr]) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", TWIN_CATEGORIES)
    other = {**draft(), "subject": {"reference": "Patient/p-9"}}
    r = order_select(client, other)
    assert r.status_code == 422 and r.json()["field"] == "context.draftOrders"
