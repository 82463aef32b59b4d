"""Each gate check withholds through the real app, with its reason and an audit id."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from governance.identity.principal import Principal
from models.demo_twins import DemoTwin
from tests.api.helpers import GATE_ORDER, features_of, prepare_patient, run_sql, twin_named

WHAS = "whas500-mortality"
CATS = ["demographics", "vitals", "history"]


def predict(
    api: Any,
    features: dict[str, float],
    headers: dict[str, str] | None = None,
    patient: str = "p-1",
    purpose: str = "treatment",
    model: str = WHAS,
    **extra: Any,
) -> Any:
    body = {
        "model": model,
        "patient_id": patient,
        "purpose": purpose,
        "features": features,
        **extra,
    }
    return api.client.post(
        "/v1/predictions", json=body, headers=headers if headers is not None else api.clinician
    )


def withheld(response: Any, check: str) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    body: dict[str, Any] = response.json()
    assert body["decision"] == "withheld"
    assert body["audit_id"]
    assert [r["check"] for r in body["reasons"]] == [check], body
    assert "prediction" not in body and "explanation" not in body
    return body


@pytest.fixture()
def whas(demo_twins: list[DemoTwin]) -> DemoTwin:
    return twin_named(demo_twins, WHAS)


@pytest.mark.parametrize("role", ["data_scientist", "validator", "ethics_board", "admin"])
def test_role_may_not_predict(api: Any, whas: DemoTwin, role: str) -> None:
    prepare_patient(api, "p-1", CATS)
    withheld(predict(api, features_of(whas), api.headers("x", role)), "role")


@pytest.mark.parametrize("purpose", ["insurance-underwriting", "employment-screening"])
def test_prohibited_purpose_whatever_the_consent(api: Any, whas: DemoTwin, purpose: str) -> None:
    prepare_patient(api, "p-1", CATS)
    body = withheld(predict(api, features_of(whas), purpose=purpose), "purpose")
    assert "prohibited" in body["reasons"][0]["detail"]


def test_purpose_not_intended_by_the_model(api: Any, demo_twins: list[DemoTwin]) -> None:
    twin = next(
        (t for t in demo_twins if "quality-improvement" not in t.card.intended_purposes), None
    )
    if twin is None:
        pytest.skip("every demo twin intends quality-improvement")
    prepare_patient(api, "p-1", list(twin.card.data_categories), "quality-improvement")
    withheld(
        predict(api, features_of(twin), model=twin.name, purpose="quality-improvement"), "purpose"
    )


def test_patient_of_another_site_same_answer_as_unknown(api: Any, whas: DemoTwin) -> None:
    prepare_patient(api, "p-1", CATS)
    other = api.headers("olga", "clinician", "st-elsewhere")
    known = withheld(predict(api, features_of(whas), other), "site")
    unknown = withheld(predict(api, features_of(whas), other, patient="nobody"), "site")
    assert known["reasons"] == unknown["reasons"]


def test_missing_consent(api: Any, whas: DemoTwin) -> None:
    api.client.put("/v1/patients/p-1", json={"site": "st-mary"}, headers=api.clinician)
    withheld(predict(api, features_of(whas)), "consent")


def test_consent_not_covering_every_category(api: Any, whas: DemoTwin) -> None:
    prepare_patient(api, "p-1", ["demographics", "vitals"])
    body = withheld(predict(api, features_of(whas)), "consent")
    assert "history" in body["reasons"][0]["detail"]


def test_consent_for_another_purpose(api: Any, whas: DemoTwin) -> None:
    prepare_patient(api, "p-1", CATS, purpose="research")
    withheld(predict(api, features_of(whas)), "consent")


def test_expired_and_future_consents_do_not_count(api: Any, whas: DemoTwin) -> None:
    api.client.put("/v1/patients/p-1", json={"site": "st-mary"}, headers=api.clinician)
    now = datetime.now(UTC)
    for start, end in (
        (now - timedelta(days=10), now - timedelta(days=1)),
        (now + timedelta(days=1), now + timedelta(days=10)),
    ):
        r = api.client.post(
            "/v1/patients/p-1/consents",
            headers=api.clinician,
            json={
                "purpose": "treatment",
                "data_categories": CATS,
                "valid_from": start.isoformat(),
                "valid_until": end.isoformat(),
            },
        )
        assert r.status_code == 201, r.text
    withheld(predict(api, features_of(whas)), "consent")


def test_withdrawal_applies_to_the_next_request(api: Any, whas: DemoTwin) -> None:
    consent_id = prepare_patient(api, "p-1", CATS)
    assert predict(api, features_of(whas)).status_code == 200
    r = api.client.post(f"/v1/patients/p-1/consents/{consent_id}/withdraw", headers=api.clinician)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn"
    withheld(predict(api, features_of(whas)), "consent")


def test_suspension_and_reinstatement(api: Any, whas: DemoTwin) -> None:
    prepare_patient(api, "p-1", CATS)
    url = f"/v1/models/{WHAS}/versions/1"
    r = api.client.post(url + "/suspend", json={"comment": "drift"}, headers=api.ethics)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "suspended"
    withheld(predict(api, features_of(whas)), "approval")
    r = api.client.post(url + "/reinstate", json={"comment": "fixed"}, headers=api.ethics)
    assert r.status_code == 200, r.text
    assert predict(api, features_of(whas)).status_code == 200
    history = api.client.get(url, headers=api.ethics).json()["history"]
    assert [h["to"] for h in history][-2:] == ["suspended", "approved"]
    assert history[-2]["actor"] == "erin" and history[-2]["reason"] == "drift"


def test_unapproved_version_named_in_request(api: Any, whas: DemoTwin) -> None:
    prepare_patient(api, "p-1", CATS)
    service = api.service
    from api.cli.demo import DATA_SCIENTIST

    rv = service.register_version(
        DATA_SCIENTIST, WHAS, whas.card.kind, whas.model, whas.card, whas.evaluation
    )
    body = withheld(predict(api, features_of(whas), version=rv.version), "approval")
    assert "registered" in body["reasons"][0]["detail"]


def test_bias_audit_too_old(api: Any, whas: DemoTwin) -> None:
    prepare_patient(api, "p-1", CATS)
    path = api.service.settings.policies_dir / "thresholds.toml"
    path.write_text(path.read_text().replace("max_age_days = 180", "max_age_days = 0"))
    api.service.policies.invalidate()
    body = withheld(predict(api, features_of(whas)), "bias_audit")
    assert "older than" in body["reasons"][0]["detail"]


def test_no_passing_bias_audit(api: Any, whas: DemoTwin) -> None:
    prepare_patient(api, "p-1", CATS)
    run_sql(
        api.service.settings.governance_url,
        "UPDATE bias_audit SET passed = false WHERE model = :m",
        m=WHAS,
    )
    withheld(predict(api, features_of(whas)), "bias_audit")


def test_out_of_envelope_withheld_for_treatment_warned_for_research(
    api: Any, whas: DemoTwin
) -> None:
    prepare_patient(api, "p-1", CATS)
    prepare_patient(api, "p-1", CATS, purpose="research")
    features = features_of(whas)
    name, (low, _high) = next(iter(whas.card.envelope.items()))
    spec = whas.card.feature(name)
    if low - 1 < spec.minimum:
        pytest.skip("no room below the envelope inside the schema range")
    features[name] = low - 1
    body = withheld(predict(api, features), "envelope")
    released = predict(api, features, purpose="research")
    assert released.status_code == 200, released.text
    assert any("envelope" in w for w in released.json()["warnings"])
    # the audit records name the feature and the range, never the patient's value
    for audit_id in (body["audit_id"], released.json()["audit_id"]):
        record = next(
            r for r in api.service.audit.records(limit=1000) if r["record_id"] == audit_id
        )
        text = json.dumps(record)
        assert f"{name} not in" in text and f"{name}=" not in text


def test_corrupt_policy_withholds_everything_and_fails_health(api: Any, whas: DemoTwin) -> None:
    prepare_patient(api, "p-1", CATS)
    (api.service.settings.policies_dir / "ethics.toml").write_text("purposes = [")
    api.service.policies.invalidate()
    before = api.service.audit.count()
    response = predict(api, features_of(whas))
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "decision" not in response.json() and "prediction" not in response.json()
    # the reason names files on the server: the client is told only that nothing is decided
    assert response.json()["detail"].startswith("the policies cannot be read")
    assert "ethics.toml" not in response.text
    health = api.client.get("/health")
    assert health.status_code == 503
    assert health.json()["checks"]["policies"] == "unavailable: cannot be read (see the server log)"
    assert "ethics.toml" not in health.text
    # the refusal, and only it, is recorded (under no policy version: none could be read)
    assert api.service.audit.count() == before + 1
    refusal = api.service.audit.records(action="auth.refused")[-1]
    assert refusal["reason"].startswith("policies unavailable: ")
    assert refusal["path"] == "/v1/predictions" and refusal["policy_version"] is None


def test_a_decision_under_way_when_the_policies_break_is_withheld(api: Any, whas: DemoTwin) -> None:
    """Past authentication (in-process, as the page and simulation paths call it), the
    gate's own first check withholds: no version to decide under, none recorded."""
    prepare_patient(api, "p-1", CATS)
    changes = len(api.service.audit.records(action="policy.change", limit=1000))
    (api.service.settings.policies_dir / "ethics.toml").write_text("purposes = [")
    api.service.policies.invalidate()
    decision = api.service.predictions.predict(
        Principal("carla", "clinician", "st-mary"), whas.name, "p-1", "treatment", features_of(whas)
    )
    assert not decision.released and decision.computation is None
    assert [r["check"] for r in decision.reasons] == ["policy"]
    assert "ethics.toml" not in decision.reasons[0]["detail"]  # the server log has the reason
    record = api.service.audit.records(action="prediction", limit=1000)[-1]
    assert record["record_id"] == decision.audit_id and record["decision"] == "withheld"
    assert record["policy_version"] is None
    assert len(api.service.audit.records(action="policy.change", limit=1000)) == changes


def test_withheld_decision_is_audited(api: Any, whas: DemoTwin) -> None:
    api.client.put("/v1/patients/p-1", json={"site": "st-mary"}, headers=api.clinician)
    audit_id = withheld(predict(api, features_of(whas)), "consent")["audit_id"]
    records = api.client.get(
        "/v1/audit/records", params={"action": "prediction"}, headers=api.ethics
    ).json()
    record = next(r for r in records if r["record_id"] == audit_id)
    assert record["decision"] == "withheld"
    assert record["checks"][-1] == {
        "check": "consent",
        "passed": False,
        "detail": record["checks"][-1]["detail"],
    }
    assert json.dumps(record).count("p-1") == 0


@pytest.mark.parametrize("name", ["diabetes-progression", "whas500-mortality-logit"])
def test_unfaithful_explanation_is_withheld(
    api: Any, demo_twins: list[DemoTwin], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """The gate's last check through the app: the served explainer's base value shifted
    (a stale or corrupted explainer) makes base + sum(phi) miss the model's own output, so
    the prediction is withheld; restoring the base value releases it again."""
    twin = twin_named(demo_twins, name)
    prepare_patient(api, "p-1", list(twin.card.data_categories))
    features = features_of(twin, 1)
    released = predict(api, features, model=name)
    assert released.status_code == 200, released.text
    good = released.json()["explanation"]

    # The explainer the running service serves this version with: its runtime cache.
    state = api.service.lifecycle.approved_version(name)
    assert state is not None and state.version == "1"
    served = api.service.runtime.load(state)
    assert api.service.runtime.load(state) is served  # cached: what the next request uses
    explainer = served.explainer  # type: ignore[attr-defined]
    base = explainer._base
    assert base == good["base_value"]
    phi = list(good["contributions"].values())
    output = good["output_value"]
    allowed = 1e-9 * max(1.0, sum(abs(v) for v in phi), abs(output))
    shift = 1000 * allowed  # far beyond float64 rounding, small against the prediction
    monkeypatch.setattr(explainer, "_base", base + shift)

    response = predict(api, features, model=name)
    body = withheld(response, "explanation")
    assert set(body) == {"decision", "audit_id", "reasons"}
    detail = body["reasons"][0]["detail"]
    match = re.fullmatch(r"the explanation is not faithful: residual (\S+) exceeds (\S+)", detail)
    assert match, detail
    residual = abs(math.fsum([base + shift, *phi]) - output)
    assert float(match[1]) == pytest.approx(residual, rel=1e-3)
    assert float(match[2]) == pytest.approx(allowed, rel=1e-3)
    for value in (output, *phi):
        assert repr(value) not in response.text

    record = next(
        r
        for r in api.service.audit.records(action="prediction", limit=1000)
        if r["record_id"] == body["audit_id"]
    )
    assert record["decision"] == "withheld"
    assert record["model_version"] == "1"
    assert [c["check"] for c in record["checks"]] == GATE_ORDER
    assert all(c["passed"] for c in record["checks"][:-1])
    assert record["checks"][-1] == {"check": "explanation", "passed": False, "detail": detail}
    assert record["output_digest"] is None

    monkeypatch.undo()
    again = predict(api, features, model=name)
    assert again.status_code == 200, again.text
    assert again.json()["explanation"] == good
