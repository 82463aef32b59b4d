"""Values at the edges never answer 500 (issue 13, finding 11): date-times at the limits of
what can be represented in every date-time field, huge integers in every numeric field,
and a governance store that fails during a decision (503 naming the store, audited when
the audit log can still be written). The server log never holds a patient id."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from api.cli.demo import CLINICIAN, SITE
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, prepare_patient, run_sql, twin_named
from tests.api.http.pages.test_pages_http import _csrf, _sign_in

WHAS = "whas500-mortality"
VANCO = "vancomycin-auc"
CATS = ["demographics", "vitals", "history"]

#: RFC 3339 date-times whose instant in UTC lies before year 1 or after 9999, or at the
#: very edge of what Python and the databases hold.
LIMIT_DATE_TIMES = (
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:59:59.999999+01:00",
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00-23:59",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:00:00-23:59",
    "9999-12-31T23:59:59+14:00",
)
#: Integers no float holds, or no 64-bit integer.
HUGE_INTEGERS = (10**400, -(10**400), 2**1024, 2**64, -(2**63) - 1, 10**4000)
HUGE_IDS = ("1e400", "-1e400", "2^1024", "2^64", "-2^63-1", "1e4000")


class ServerLog:
    """What the server logged (every logger but the test client's own, httpx)."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog

    @property
    def text(self) -> str:
        return "\n".join(
            r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
            for r in self._caplog.records
            if not r.name.startswith(("httpx", "httpcore"))
        )


@pytest.fixture()
def log(caplog: pytest.LogCaptureFixture) -> ServerLog:
    caplog.set_level(logging.DEBUG)
    return ServerLog(caplog)


def _no_server_error(response: Any) -> None:
    assert response.status_code < 500, response.text


# -- date-times at the limits --------------------------------------------------------------
@pytest.mark.parametrize("field", ["valid_from", "valid_until"])
@pytest.mark.parametrize("value", LIMIT_DATE_TIMES)
def test_consent_validity_at_the_limits(
    api: Any, demo_twins: list[DemoTwin], log: ServerLog, field: str, value: str
) -> None:
    patient = f"patient-at-the-limit-{LIMIT_DATE_TIMES.index(value)}-{field}"
    r = api.client.put(f"/v1/patients/{patient}", json={"site": "st-mary"}, headers=api.clinician)
    assert r.status_code == 200, r.text
    body = {"purpose": "treatment", "data_categories": CATS, field: value}
    r = api.client.post(f"/v1/patients/{patient}/consents", json=body, headers=api.clinician)
    assert r.status_code in (201, 422), r.text
    if r.status_code == 422:
        assert r.json()["field"] == field
    else:
        assert r.json()[field].startswith(("0001-01-01T", "9999-12-31T"))
    listed = api.client.get(f"/v1/patients/{patient}/consents", headers=api.clinician)
    assert listed.status_code == 200, listed.text
    predicted = api.client.post(
        "/v1/predictions",
        json={
            "model": WHAS,
            "patient_id": patient,
            "purpose": "treatment",
            "features": features_of(twin_named(demo_twins, WHAS)),
        },
        headers=api.clinician,
    )
    assert predicted.status_code in (200, 403), predicted.text
    report = api.client.get("/v1/reports/ethics", headers=api.ethics)
    assert report.status_code == 200, report.text
    assert patient not in log.text


@pytest.mark.parametrize(
    "path", ["/v1/audit/records", "/v1/reports/ethics", "/v1/reports/ethics?format=html"]
)
@pytest.mark.parametrize("value", LIMIT_DATE_TIMES)
def test_period_parameters_at_the_limits(api: Any, path: str, value: str) -> None:
    for name in ("since", "until"):
        r = api.client.get(path, params={name: value}, headers=api.ethics)
        _no_server_error(r)
        assert r.status_code in (200, 422), r.text


# -- huge integers ------------------------------------------------------------------------
def _refusals(api: Any, prefix: str) -> int:
    return len([r for r in api.service.audit.records(limit=10_000) if r["action"] == prefix])


@pytest.mark.parametrize("value", HUGE_INTEGERS, ids=HUGE_IDS)
@pytest.mark.parametrize("feature", ["age", "sysbp", "gender"])
def test_huge_integer_features_are_refused_and_audited(
    api: Any, demo_twins: list[DemoTwin], log: ServerLog, value: int, feature: str
) -> None:
    prepare_patient(api, "p-huge", CATS)
    features = {**features_of(twin_named(demo_twins, WHAS)), feature: value}
    before = _refusals(api, "prediction.refused")
    body = {"model": WHAS, "patient_id": "p-huge", "purpose": "treatment", "features": features}
    r = api.client.post("/v1/predictions", json=body, headers=api.clinician)
    assert r.status_code in (400, 422), r.text
    assert r.json().get("field") in (f"features.{feature}", None)
    assert r.json()["audit_id"]
    assert _refusals(api, "prediction.refused") == before + 1
    assert "p-huge" not in log.text


@pytest.mark.parametrize("value", HUGE_INTEGERS, ids=HUGE_IDS)
@pytest.mark.parametrize("where", ["features", "scenario"])
def test_huge_integers_in_a_simulation_are_refused_and_audited(
    api: Any, mechanistic_twins: list[DemoTwin], value: int, where: str
) -> None:
    prepare_patient(api, "p-huge", ["demographics", "labs", "medication"])
    features = features_of(twin_named(mechanistic_twins, VANCO))
    override: dict[str, Any] = {}
    if where == "features":
        features["dose_mg"] = value
    else:
        override["dose_mg"] = value
    body = {
        "model": VANCO,
        "patient_id": "p-huge",
        "purpose": "treatment",
        "features": features,
        "scenarios": [{"name": "a", "features": override}],
    }
    before = _refusals(api, "simulation.refused") + _refusals(api, "prediction.refused")
    r = api.client.post("/v1/simulations", json=body, headers=api.clinician)
    assert r.status_code in (400, 422), r.text
    assert r.json()["audit_id"]
    after = _refusals(api, "simulation.refused") + _refusals(api, "prediction.refused")
    assert after == before + 1


@pytest.mark.parametrize("name", ["limit", "offset"])
@pytest.mark.parametrize("value", HUGE_INTEGERS, ids=HUGE_IDS)
def test_huge_integer_query_parameters(api: Any, name: str, value: int) -> None:
    r = api.client.get("/v1/audit/records", params={name: str(value)}, headers=api.ethics)
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("value", ["9" * 64, "9" * 5000, "-" + "9" * 400])
def test_huge_integers_in_the_prediction_form(
    api: Any, demo_twins: list[DemoTwin], value: str
) -> None:
    prepare_patient(api, "p-huge", CATS)
    assert _sign_in(api, api.token(CLINICIAN.user, "clinician", SITE)).status_code == 303
    twin = twin_named(demo_twins, WHAS)
    form = {f"f_{k}": str(v) for k, v in features_of(twin).items()}
    form.update(f_age=value, model=WHAS, patient_id="p-huge", purpose="treatment")
    form["_csrf_token"] = _csrf(api, "/ui/predict")
    r = api.client.post("/ui/predict", data=form)
    assert r.status_code == 422, r.text[:2000]


# -- a governance store that fails during a decision ----------------------------------------
#: Tables the decision reads (the facts, the version, the serving cache's generation).
DECISION_TABLES = ("consent", "patient", "bias_audit", "transition", "model_version")


@pytest.mark.parametrize("table", DECISION_TABLES)
def test_a_store_error_during_the_facts_read_is_503_and_audited(
    api: Any, demo_twins: list[DemoTwin], log: ServerLog, table: str
) -> None:
    prepare_patient(api, "p-store", CATS)
    body = {
        "model": WHAS,
        "patient_id": "p-store",
        "purpose": "treatment",
        "features": features_of(twin_named(demo_twins, WHAS)),
    }
    url = api.service.settings.governance_url
    before = api.service.audit.count()
    run_sql(url, f"ALTER TABLE {table} RENAME TO {table}_gone")
    try:
        r = api.client.post("/v1/predictions", json=body, headers=api.clinician)
    finally:
        run_sql(url, f"ALTER TABLE {table}_gone RENAME TO {table}")
    assert r.status_code == 503, r.text
    problem = r.json()
    assert "governance store" in problem["detail"]
    for leak in (f"{table}_gone", "SELECT", "sqlite", "psycopg", "governance.db"):
        assert leak.lower() not in r.text.lower()
    record = api.service.audit.records(limit=10_000)[-1]
    assert api.service.audit.count() == before + 1
    assert record["record_id"] == problem["audit_id"]
    assert (record["action"], record["decision"]) == ("prediction", "withheld")
    assert record["checks"][-1]["check"] == "store"
    assert "p-store" not in log.text


def test_a_store_error_with_no_writable_audit_log_is_503_unaudited(
    api: Any, demo_twins: list[DemoTwin]
) -> None:
    prepare_patient(api, "p-store", CATS)
    body = {
        "model": WHAS,
        "patient_id": "p-store",
        "purpose": "treatment",
        "features": features_of(twin_named(demo_twins, WHAS)),
    }
    url = api.service.settings.governance_url
    before = api.service.audit.count()
    run_sql(url, "ALTER TABLE consent RENAME TO consent_gone")
    run_sql(url, "ALTER TABLE audit_record RENAME TO audit_record_gone")
    try:
        r = api.client.post("/v1/predictions", json=body, headers=api.clinician)
    finally:
        run_sql(url, "ALTER TABLE audit_record_gone RENAME TO audit_record")
        run_sql(url, "ALTER TABLE consent_gone RENAME TO consent")
    assert r.status_code == 503, r.text
    assert "audit_id" not in r.json()
    assert api.service.audit.count() == before


def test_an_unexpected_error_logs_the_route_never_the_patient_id(
    api: Any, log: ServerLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever fails on a patient's route, the server log names the route's template."""
    patient = "patient-secret-4711"

    def broken(*_args: Any) -> Any:
        raise RuntimeError("a fault the code did not foresee")

    monkeypatch.setattr(api.service.patients, "consents", broken)
    r = api.client.get(f"/v1/patients/{patient}/consents", headers=api.clinician)
    assert r.status_code == 500, r.text
    assert "/v1/patients/{patient_id}/consents" in log.text
    assert patient not in log.text and patient not in r.text
