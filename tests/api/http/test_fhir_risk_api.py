"""POST /fhir/RiskAssessment/$predict through the real app: the same gate call as
/v1/predictions (the same prediction, audited as ``prediction``), said as a RiskAssessment
that validates (R4B); a withheld decision as a 403 OperationOutcome naming the failing
check and nothing of the result; bad Parameters refused naming the parameter, audited."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.riskassessment import RiskAssessment

from models.demo_twins import DemoTwin
from tests.api.fhir_bundles import FHIR_JSON, risk_parameters
from tests.api.helpers import features_of, prepare_patient, twin_named
from tests.api.twin_course import audit_body

ROUTE = "/fhir/RiskAssessment/$predict"
EXT = "urn:twinreg:fhir:"
WHAS = "whas500-mortality"
CATS = ["demographics", "vitals", "history"]


def send(api: Any, body: Any, headers: dict[str, str] | None = None) -> Any:
    return api.client.post(ROUTE, json=body, headers={**(headers or api.clinician), **FHIR_JSON})


def ext(resource: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in resource.get("extension", []) if e["url"] == EXT + name]


def v1(api: Any, model: str, features: dict[str, float]) -> dict[str, Any]:
    body = {"model": model, "patient_id": "p-1", "purpose": "treatment", "features": features}
    r = api.client.post("/v1/predictions", json=body, headers=api.clinician)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_a_released_probability_is_a_risk_assessment(api: Any, demo_twins: list[DemoTwin]) -> None:
    twin = twin_named(demo_twins, WHAS)
    prepare_patient(api, "p-1", CATS)
    features = features_of(twin, 3)
    r = send(api, risk_parameters(WHAS, features))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    risk = r.json()
    RiskAssessment.model_validate(risk)
    same = v1(api, WHAS, features)
    (prediction,) = risk["prediction"]
    assert prediction["probabilityDecimal"] == pytest.approx(same["prediction"]["value"], abs=1e-6)
    assert prediction["outcome"]["text"] == twin.card.outcome
    above = [e for e in prediction["extension"] if e["url"] == EXT + "above-threshold"]
    assert above[0]["valueBoolean"] == same["prediction"]["above_threshold"]
    assert risk["status"] == "final"
    assert risk["subject"]["identifier"] == {"system": "urn:twinreg:patient-id", "value": "p-1"}
    assert risk["method"]["coding"][0] == {"system": "urn:twinreg:model", "code": WHAS,
                                           "version": same["model_version"]}  # fmt: skip
    audit_id = risk["identifier"][0]["value"]
    assert ext(risk, "audit-record")[0]["valueString"] == audit_id != same["audit_id"]
    record = audit_body(api, audit_id)
    assert record["action"] == "prediction" and record["decision"] == "released"
    contributions = same["explanation"]["contributions"]
    top = sorted(contributions, key=lambda n: -abs(contributions[n]))[:5]
    said = {c["extension"][0]["valueString"]: c["extension"][1]["valueDecimal"]
            for c in ext(risk, "contribution")}  # fmt: skip
    assert list(said) == top
    assert said == pytest.approx({n: contributions[n] for n in top}, abs=1e-6)
    explained = {e["url"]: e for e in ext(risk, "explanation")[0]["extension"]}
    assert explained["output-space"]["valueString"] == "log_odds"


def test_a_cox_risk_is_the_event_probability_by_the_horizon(
    api: Any, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, "gbsg2-recurrence")
    prepare_patient(api, "p-1", list(twin.card.data_categories))
    features = features_of(twin, 1)
    treat = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}
    r = send(api, risk_parameters(twin.name, features, purpose={"valueCoding": treat}))
    assert r.status_code == 200, r.text
    (prediction,) = RiskAssessment.model_validate(r.json()).model_dump(
        mode="json", exclude_none=True)["prediction"]  # fmt: skip
    same = v1(api, twin.name, features)["prediction"]
    assert prediction["probabilityDecimal"] == pytest.approx(
        1 - same["survival_probability"], abs=1e-6)  # fmt: skip
    assert prediction["whenRange"]["high"]["value"] == pytest.approx(same["horizon"])
    score = [e for e in prediction["extension"] if e["url"] == EXT + "risk-score"]
    assert score[0]["valueDecimal"] == pytest.approx(same["value"], abs=1e-6)


def test_a_value_is_an_extension_without_probability(api: Any, demo_twins: list[DemoTwin]) -> None:
    twin = twin_named(demo_twins, "diabetes-progression")
    prepare_patient(api, "p-1", list(twin.card.data_categories))
    features = features_of(twin, 2)
    r = send(api, risk_parameters(twin.name, features, version={"valueString": "1"}))
    assert r.status_code == 200, r.text
    (prediction,) = r.json()["prediction"]
    assert "probabilityDecimal" not in prediction
    value = [e for e in prediction["extension"] if e["url"] == EXT + "predicted-value"]
    expected = v1(api, twin.name, features)["prediction"]["value"]
    assert value[0]["valueDecimal"] == pytest.approx(expected, abs=1e-6)


def test_withheld_is_an_operation_outcome_naming_the_check(
    api: Any, demo_twins: list[DemoTwin]
) -> None:
    features = features_of(twin_named(demo_twins, WHAS), 0)
    prepare_patient(api, "p-1", ["vitals"])  # no consent for demographics and history
    r = send(api, risk_parameters(WHAS, features))
    assert r.status_code == 403, r.text
    outcome = OperationOutcome.model_validate(r.json())
    (issue,) = outcome.issue
    assert issue.code == "forbidden" and issue.details.coding[0].code == "consent"
    audit_id = r.json()["extension"][0]["valueString"]
    record = audit_body(api, audit_id)
    assert record["action"] == "prediction" and record["decision"] == "withheld"
    for leak in ("probability", "contribution", "p-1"):
        assert leak not in r.text
    r = send(api, risk_parameters(WHAS, features), api.headers("vic", "validator"))
    assert r.status_code == 403 and r.json()["issue"][0]["details"]["coding"][0]["code"] == "role"


@pytest.mark.parametrize(
    "change,status,expression",
    [
        (lambda p: p["parameter"].pop(2), 422, "Parameters.parameter"),  # no patient
        (lambda p: p["parameter"].append({"name": "plot", "valueString": "svg"}), 422,
         "Parameters.parameter[{last}].name"),
        (lambda p: p["parameter"][-1]["part"][1].update(valueDecimal=None, valueString="x"),
         422, "Parameters.parameter[{last}].part[1]"),
        (lambda p: p["parameter"][-1]["part"][0].update(valueString="shoe_size"), 422,
         "Parameters.parameter[{last}]"),  # unknown feature: said by the gate's service
        (lambda p: p["parameter"][-1]["part"][1].update(valueDecimal=-5), 422,
         "Parameters.parameter[{last}]"),  # out of the feature's range
        (lambda p: p.update(resourceType="Bundle"), 400, "Parameters.resourceType"),
        (lambda p: p["parameter"][0].update(valueInteger="many"), 400,
         "Parameters.parameter[0].valueInteger"),
    ],
)  # fmt: skip
def test_bad_parameters_are_refused_naming_the_parameter_and_audited(
    api: Any, demo_twins: list[DemoTwin], change: Any, status: int, expression: str
) -> None:
    prepare_patient(api, "p-1", CATS)
    body = risk_parameters(WHAS, features_of(twin_named(demo_twins, WHAS), 0))
    change(body)
    before = api.service.audit.count()
    r = send(api, body)
    assert r.status_code == status, r.text
    outcome = r.json()
    OperationOutcome.model_validate(outcome)
    last = len(body.get("parameter", [])) - 1
    assert outcome["issue"][0]["expression"] == [expression.format(last=last)]
    added = api.service.audit.records(offset=before, limit=10)
    assert len(added) == 1 and added[0]["action"].endswith(".refused"), added
    assert outcome["extension"][0]["valueString"] == added[0]["record_id"]


def test_the_body_must_be_fhir_json(api: Any) -> None:
    r = api.client.post(ROUTE, content=b"model=x", headers={**api.clinician,
                        "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["Parameters"]
