"""Bad input: a problem-details body that names the field; nothing written but the refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest

from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, prepare_patient, twin_named

WHAS = "whas500-mortality"


@pytest.fixture()
def features(demo_twins: list[DemoTwin]) -> dict[str, Any]:
    return features_of(twin_named(demo_twins, WHAS))


def post(api: Any, body: Any, **kwargs: Any) -> Any:
    return api.client.post("/v1/predictions", json=body, headers=api.clinician, **kwargs)


def body_with(features: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {"model": WHAS, "patient_id": "p-1", "purpose": "treatment", "features": dict(features)}
    body.update(changes)
    return body


def problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    data: dict[str, Any] = response.json()
    assert data["status"] == status and data["title"] and data["detail"]
    if field is not None:
        assert data.get("field") == field or field in data["detail"], data
    return data


def audit_count(api: Any) -> int:
    return int(api.service.audit.count())


def prediction_records(api: Any) -> list[dict[str, Any]]:
    return [
        r for r in api.service.audit.records(limit=1000) if r["action"].startswith("prediction")
    ]


@pytest.mark.parametrize(
    "mutate,field",
    [
        (lambda f: f.pop("age"), "features.age"),
        (lambda f: f.update(shoe_size=42), "features.shoe_size"),
        (lambda f: f.update(age="old"), "features.age"),
        (lambda f: f.update(age=True), "features.age"),
        (lambda f: f.update(age=None), "features.age"),
        (lambda f: f.update(age=-5), "features.age"),
        (lambda f: f.update(age=400), "features.age"),
        (lambda f: f.update(gender=0.5), "features.gender"),
    ],
)
def test_bad_features_are_422_and_audited_as_refusals(
    api: Any, features: dict[str, Any], mutate: Any, field: str
) -> None:
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    before = len(prediction_records(api))
    mutate(features)
    response = post(api, body_with(features))
    problem(response, 422, field)
    records = prediction_records(api)
    assert len(records) == before + 1
    assert records[-1]["action"] == "prediction.refused"
    assert records[-1]["decision"] == "refused"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_rejected(api: Any, features: dict[str, Any], literal: str) -> None:
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    body = json.dumps(body_with(features)).replace(
        '"age": {!r}'.format(features["age"]), '"age": ' + literal
    )
    assert literal in body
    response = api.client.post(
        "/v1/predictions",
        content=body,
        headers={**api.clinician, "content-type": "application/json"},
    )
    data = problem(response, 400, "features.age")
    assert data["field"] == "features.age"
    assert "must be a finite number" in data["detail"]
    assert prediction_records(api)[-1]["record_id"] == data["audit_id"]


def test_malformed_json(api: Any) -> None:
    response = api.client.post(
        "/v1/predictions",
        content=b'{"model": "x",\n "purpose": }',
        headers={**api.clinician, "content-type": "application/json"},
    )
    data = problem(response, 400)
    assert data["detail"].startswith("the body is not valid JSON: Expecting value")
    assert "line 2, column 13" in data["detail"]


def test_unknown_model(api: Any, features: dict[str, Any]) -> None:
    before = audit_count(api)
    data = problem(post(api, body_with(features, model="no-such-model")), 422)
    assert data["field"] == "model"
    assert "GET /v1/models lists the models" in data["detail"]
    assert audit_count(api) == before + 1  # the refusal, and only it
    refusal = prediction_records(api)[-1]
    assert refusal["record_id"] == data["audit_id"]
    assert refusal["field"] == "model"


@pytest.mark.parametrize(
    "model", ["../etc/passwd", "file:///etc/passwd", "/abs/path", "%2e%2e%2f", "models:/x/1"]
)
def test_model_reference_tricks_never_reach_the_registry(
    api: Any, features: dict[str, Any], model: str
) -> None:
    response = post(api, body_with(features, model=model))
    assert 400 <= response.status_code < 500, response.text


def test_unknown_and_server_owned_fields_rejected(api: Any, features: dict[str, Any]) -> None:
    for extra in ({"status": "approved"}, {"audit_id": "x"}, {"approved_by": "me"}):
        problem(post(api, body_with(features, **extra)), 400)


def test_missing_required_field(api: Any, features: dict[str, Any]) -> None:
    body = body_with(features)
    del body["purpose"]
    problem(post(api, body), 400, "purpose")


def test_oversized_body_is_413(api: Any, features: dict[str, Any]) -> None:
    body = body_with(features, patient_id="x" * 100_000)
    response = post(api, body)
    assert response.status_code == 413, response.text


def test_unknown_version(api: Any, features: dict[str, Any]) -> None:
    data = problem(post(api, body_with(features, version="99")), 422)
    assert data["field"] == "version"
    assert "has no version '99'" in data["detail"] and "lists its versions" in data["detail"]
    # a version of a model that does not exist: the model is what to fix
    data = problem(post(api, body_with(features, model="no-such-model", version="1")), 422)
    assert data["field"] == "model"


def test_bad_consent_input(api: Any) -> None:
    api.client.put("/v1/patients/p-1", json={"site": "st-mary"}, headers=api.clinician)
    before = audit_count(api)
    for body, field in (
        ({"purpose": "treatment", "data_categories": []}, "data_categories"),
        ({"purpose": "treatment", "data_categories": ["dna"]}, "data_categories"),
        ({"purpose": "marketing", "data_categories": ["vitals"]}, "purpose"),
        (
            {
                "purpose": "treatment",
                "data_categories": ["vitals"],
                "valid_from": "2026-01-02T00:00:00Z",
                "valid_until": "2026-01-01T00:00:00Z",
            },
            "valid_until",
        ),
    ):
        problem(
            api.client.post("/v1/patients/p-1/consents", json=body, headers=api.clinician),
            422,
            field,
        )
    # nothing is stored but the record of each refusal (issue 13, finding 7)
    added = api.service.audit.records(offset=before, limit=100)
    assert [(r["action"], r["status"]) for r in added] == [("request.refused", 422)] * 4
    consents = api.client.get("/v1/patients/p-1/consents", headers=api.clinician)
    assert consents.status_code == 200 and consents.json() == [], consents.text


@pytest.mark.parametrize(
    "content",
    [b'{"model": ', b'{"model": "x", "patient_id": "p", "purpose": "t", "features": {}, "x": 1}'],
)
def test_structural_refusals_are_audited(api: Any, content: bytes) -> None:
    before = len(prediction_records(api))
    response = api.client.post(
        "/v1/predictions",
        content=content,
        headers={**api.clinician, "content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    records = prediction_records(api)
    assert len(records) == before + 1
    assert records[-1]["action"] == "prediction.refused"
    assert records[-1]["principal"]["user"] == "carla"
    assert response.json()["audit_id"] == records[-1]["record_id"]


def test_a_body_nested_too_deeply_is_a_400_and_audited(api: Any) -> None:
    before = audit_count(api)
    response = api.client.post(
        "/v1/predictions",
        content=b'{"model": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        headers={**api.clinician, "content-type": "application/json"},
    )
    data = problem(response, 400)
    assert "nested too deeply" in data["detail"]
    assert audit_count(api) == before + 1
