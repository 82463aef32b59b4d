"""Validation dossiers through the real app: who may compute and read them, what they hold,
approval only after a passing dossier, and change control against the approved version."""

from __future__ import annotations

from typing import Any

import pytest

from api.cli.demo import DATA_SCIENTIST
from models.demo_twins import DemoTwin
from tests.api.helpers import twin_named

WHAS = "whas500-mortality"
V1 = f"/v1/models/{WHAS}/versions/1"


def test_every_demo_twin_has_the_dossier_its_approval_rested_on(api: Any) -> None:
    for model in api.client.get("/v1/models", headers=api.validator).json():
        if model["approved_version"] is None:
            continue
        url = f"/v1/models/{model['name']}/versions/{model['approved_version']}/dossier"
        r = api.client.get(url, headers=api.ethics)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["passed"] and body["digest_verified"], body["dossier"]["reasons"]
        assert body["dossier"]["credibility"]["risk_level"] == 4


def test_a_validator_computes_the_dossier_and_others_read_it(api: Any) -> None:
    r = api.client.post(f"{V1}/dossier", headers=api.validator)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["passed"] and made["digest_verified"] and made["validator"] == "victor"
    dossier = made["dossier"]
    auc = dossier["validation"]["overall"]["metrics"]["auc"]
    assert auc["low"] <= auc["estimate"] <= auc["high"] and auc["resamples"] == 300
    assert set(dossier["validation"]["subgroups"]["gender"]) == {"0", "1"}
    additivity = dossier["explanation"]["additivity"]
    assert additivity["rows_checked"] == additivity["rows_total"] == 150
    assert additivity["failures"] == 0 and not additivity["sampled"]
    assert dossier["explanation"]["stability"]["unstable"] == 0
    assert dossier["verification"] is None
    assert dossier["bias_audit"]["passed"] and dossier["bias_audit"]["current"]
    assert dossier["change_control"] is None  # v1 is the approved version itself
    for headers in (api.ethics, api.data_scientist, api.validator):
        r = api.client.get(f"{V1}/dossier", headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == made["id"] and r.json()["sha256"] == made["sha256"]
    (record,) = [
        a
        for a in api.service.audit.records(action="dossier", limit=1000)
        if a["dossier_id"] == made["id"]
    ]
    assert record["dossier_sha256"] == made["sha256"] and record["passed"] is True


@pytest.mark.parametrize("role", ["clinician", "admin", "data_scientist", "ethics_board"])
def test_only_validators_compute_dossiers(api: Any, role: str) -> None:
    headers = api.headers("u", role, "st-mary" if role == "clinician" else None)
    r = api.client.post(f"{V1}/dossier", headers=headers)
    assert r.status_code == 403, r.text
    if role in ("clinician", "admin"):
        for path in ("/dossier", "/dossier/changes"):
            r = api.client.get(V1 + path, headers=headers)
            assert r.status_code == 403, r.text
            assert "auc" not in r.text


def test_unknown_models_versions_and_missing_dossiers_are_404(
    api: Any, demo_twins: list[DemoTwin]
) -> None:
    for url in ("/v1/models/nope/versions/1", f"/v1/models/{WHAS}/versions/99"):
        for method, path in (
            ("POST", "/dossier"),
            ("GET", "/dossier"),
            ("GET", "/dossier/changes"),
        ):
            r = api.client.request(method, url + path, headers=api.validator)
            assert r.status_code == 404, (method, url, path, r.text)
    twin = twin_named(demo_twins, WHAS)
    rv = api.service.register_version(
        DATA_SCIENTIST, WHAS, twin.card.kind, twin.model, twin.card, twin.evaluation
    )
    r = api.client.get(f"/v1/models/{WHAS}/versions/{rv.version}/dossier", headers=api.validator)
    assert r.status_code == 404
    assert "POST" in r.json()["detail"] and "/dossier" in r.json()["detail"]


def test_approval_waits_for_a_passing_dossier_then_change_control_shows_the_delta(
    api: Any, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, WHAS)
    rv = api.service.register_version(
        DATA_SCIENTIST, WHAS, twin.card.kind, twin.model, twin.card, twin.evaluation
    )
    url = f"/v1/models/{WHAS}/versions/{rv.version}"
    assert api.client.post(f"{url}/bias-audits", headers=api.validator).status_code == 201
    r = api.client.post(f"{url}/approve", json={"comment": "audit ok"}, headers=api.validator)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["title"] == "Validation dossier required"
    assert "no validation dossier" in problem["detail"] and "run the" in problem["detail"]

    r = api.client.get(f"{url}/dossier/changes", headers=api.data_scientist)
    assert r.status_code == 200, r.text
    changes = r.json()
    assert changes["approved_version"] == "1"
    control = changes["change_control"]
    assert control["metrics"]["method"].startswith("paired bootstrap")
    auc = control["metrics"]["deltas"]["auc"]
    assert auc["difference"]["estimate"] == 0.0  # the same booster, the same rows
    assert control["card"]["features"] == {"added": [], "removed": [], "changed": []}
    assert control["card"]["envelope"] == []

    r = api.client.post(f"{url}/dossier", headers=api.validator)
    assert r.status_code == 201, r.text
    dossier = r.json()["dossier"]
    assert r.json()["passed"], dossier["reasons"]
    assert dossier["change_control"]["headline"]["metric"] == "auc"
    evidence = {e["item"]: e for e in dossier["credibility"]["evidence"]}
    assert evidence["change_control"]["applicable"] and evidence["change_control"]["satisfied"]
    r = api.client.post(f"{url}/approve", json={"comment": "dossier read"}, headers=api.validator)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    r = api.client.get(f"{V1}/dossier/changes", headers=api.ethics)
    assert r.json()["approved_version"] == rv.version
    assert r.json()["change_control"]["approved_version"] == rv.version


def test_the_approved_version_has_nothing_to_compare_with(api: Any) -> None:
    r = api.client.get(f"{V1}/dossier/changes", headers=api.validator)
    assert r.status_code == 200, r.text
    assert r.json()["change_control"] is None and "approved version itself" in r.json()["detail"]


def test_a_mechanistic_dossier_holds_verification_and_says_it_sampled(api: Any) -> None:
    r = api.client.get("/v1/models/vancomycin-auc/versions/1/dossier", headers=api.validator)
    assert r.status_code == 200, r.text
    dossier = r.json()["dossier"]
    assert dossier["verification"]["passed"]
    names = [c["name"] for c in dossier["verification"]["checks"]]
    assert names == ["code verification", "calculation verification"]
    additivity = dossier["explanation"]["additivity"]
    assert additivity["sampled"] and additivity["rows_checked"] == 12
    assert "12 of 300 rows" in additivity["sample_note"]
    assert set(dossier["validation"]["subgroups"]) == {"sex", "age_band"}
    assert dossier["validation"]["family"] == "regression"


def test_the_cli_computes_a_dossier(settings: Any, service: Any) -> None:
    from tests.api.cli.test_cli import run

    result = run(settings, "dossier", WHAS, "1", "--user", "victor")
    assert result.exit_code == 0, result.output
    assert f"{WHAS} v1: dossier PASSED (risk level 4)" in result.output
    assert "auc" in result.output
    result = run(settings, "dossier", WHAS, "1", "--user", "victor", "--json")
    assert result.exit_code == 0, result.output
    assert '"passed": true' in result.output
    result = run(settings, "dossier", "nope", "1", "--user", "victor")
    assert result.exit_code == 2 and "twinreg:" in result.output
