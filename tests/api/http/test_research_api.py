"""Cohorts and in-silico trials over HTTP, through the real app: a researcher draws a
virtual cohort and runs a small trial (inline, on this process's threads), every refusal
answered in the house order (revocation, role, input) naming the field, the model's
approval and bias audit checked as for predictions, each release audited with the cohort's
and the result's digests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.twin_course import VANCO

COHORT = {"name": "icu-virtual", "model": VANCO, "source": "prior",
          "prior": {"size": 300, "seed": 11}}  # fmt: skip
ARMS = [
    {"name": "q12h", "regimen": {"dose_mg_per_kg": 15, "interval_h": 12, "n_doses": 6}},
    {"name": "q8h", "regimen": {"dose_mg_per_kg": 15, "interval_h": 8, "n_doses": 9}},
]
PLAN = {"model": VANCO, "arms": ARMS, "outputs": ["auc24", "trough"],
        "targets": [{"output": "auc24", "low": 400, "high": 600}]}  # fmt: skip


def records(api: Any, action: str) -> list[dict[str, Any]]:
    return [r for r in api.service.audit.records(limit=10_000) if r["action"] == action]


def cohort_id(api: Any, body: dict[str, Any] | None = None) -> str:
    r = api.client.post("/v1/cohorts", json=body or COHORT, headers=api.researcher)
    assert r.status_code == 201, r.text
    found: str = r.json()["id"]
    return found


def test_a_researcher_draws_a_cohort_and_a_small_trial_is_released_with_its_digests(
    api: Any,
) -> None:
    first = cohort_id(api)
    r = api.client.post("/v1/cohorts", json=COHORT, headers=api.researcher)
    assert r.json()["version"] == 2 and r.json()["drawn_from"]["seed"] == 11
    listed = api.client.get("/v1/cohorts", headers=api.researcher).json()["cohorts"]
    assert {c["id"] for c in listed} >= {first, r.json()["id"]}
    cohort = api.client.get(f"/v1/cohorts/{first}", headers=api.researcher).json()
    assert cohort["size"] == 300 and cohort["source"] == "prior"

    r = api.client.post(f"/v1/cohorts/{first}/trials", json=PLAN, headers=api.researcher)
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["state"] == "done" and job["progress"]["fraction"] == 1.0
    assert job["patients"] == 300 and job["withdrawn"] == 0
    arms = job["result"]["arms"]
    assert [a["name"] for a in arms] == ["q12h", "q8h"]
    for arm in arms:
        (pta,) = arm["attainment"]
        assert 0.0 <= pta["low"] <= pta["proportion"] <= pta["high"] <= 1.0
        assert pta["n"] == 300
    # q8h gives 1.5x the daily dose of q12h: a higher AUC24 median
    medians = [dict(map(tuple, a["outputs"][0]["quantiles"]))[0.5] for a in arms]
    assert medians[1] > medians[0]
    assert job["result"]["comparisons"][0]["attainment"][0]["low"] is not None
    assert {e["arm"] for e in job["result"]["explanations"]} == {"q12h", "q8h"}
    again = api.client.get(f"/v1/jobs/{job['id']}", headers=api.researcher).json()
    assert again["result_digest"] == job["result_digest"]
    (start,) = records(api, "trial.start")
    (release,) = records(api, "trial.release")
    assert start["cohort_digest"] == release["cohort_digest"] == cohort["digest"]
    assert release["result_digest"] == job["result_digest"]
    assert [c["check"] for c in start["checks"]] == [
        "role", "purpose", "site", "consent", "approval", "bias_audit",
    ]  # fmt: skip
    assert release["record_id"] == job["release_audit_id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p["arms"][1]["regimen"].update(interval_h=0), "arms[1].regimen.interval_h"),
        (lambda p: p["arms"][0].update(name="<b>$x$</b>"), "arms[0].name"),
        (lambda p: p.update(arms=[]), "arms"),
        (lambda p: p.update(outputs=["auc"]), "outputs"),
        (lambda p: p["targets"][0].update(high=1, low=2), "targets[0].high"),
        (lambda p: p.update(colour="red"), "colour"),
        (lambda p: p.pop("model"), "model"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field_and_nothing_runs(
    api: Any, change: Any, field: str
) -> None:
    cohort = cohort_id(api)
    plan = json.loads(json.dumps(PLAN))
    change(plan)
    r = api.client.post(f"/v1/cohorts/{cohort}/trials", json=plan, headers=api.researcher)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert records(api, "trial.start") == [] and r.json()["audit_id"]


def test_bad_cohorts_are_refused_naming_the_field(api: Any) -> None:
    for body, field in [
        ({**COHORT, "prior": {"size": 3_000_000, "seed": 1}}, "prior.size"),
        ({**COHORT, "prior": {"size": 10}}, "prior.seed"),
        ({**COHORT, "source": "sky"}, "source"),
        ({**COHORT, "name": "Bad Name"}, "name"),
        ({**COHORT, "model": "whas500-mortality"}, "model"),
    ]:
        r = api.client.post("/v1/cohorts", json=body, headers=api.researcher)
        assert r.status_code == 422 and r.json()["field"] == field, (field, r.text)
    r = api.client.post("/v1/cohorts", content=b"[1", headers=api.researcher)
    assert r.status_code == 422 and r.json()["field"] == "body"
    assert records(api, "cohort.create") == []


def test_only_researchers_and_the_role_before_the_body(api: Any) -> None:
    for headers in (api.clinician, api.validator, api.ethics, api.admin):
        r = api.client.post("/v1/cohorts", content=b"not json", headers=headers)
        assert r.status_code == 403, r.text  # the role, before the body is read
    cohort = cohort_id(api)
    r = api.client.post(f"/v1/cohorts/{cohort}/trials", content=b"{", headers=api.clinician)
    assert r.status_code == 403
    assert records(api, "model.trial.refused")


def test_a_suspended_version_withholds_the_trial_and_the_refusal_is_audited(api: Any) -> None:
    cohort = cohort_id(api)
    version = api.client.get(f"/v1/models/{VANCO}", headers=api.researcher).json()
    approved = version["approved_version"]
    r = api.client.post(f"/v1/models/{VANCO}/versions/{approved}/suspend",
                        json={"comment": "drift"}, headers=api.ethics)  # fmt: skip
    assert r.status_code == 200, r.text
    r = api.client.post(f"/v1/cohorts/{cohort}/trials", json=PLAN, headers=api.researcher)
    assert r.status_code == 403 and "approval" in r.json()["detail"]
    (refused,) = records(api, "trial.refused")
    assert refused["record_id"] == r.json()["audit_id"]
    assert refused["checks"][-1]["check"] == "approval" and not refused["checks"][-1]["passed"]
    assert records(api, "trial.start") == []


def test_a_job_is_its_researchers_only_and_a_done_job_is_not_cancelled(api: Any) -> None:
    cohort = cohort_id(api)
    job = api.client.post(f"/v1/cohorts/{cohort}/trials", json=PLAN, headers=api.researcher)
    url = f"/v1/jobs/{job.json()['id']}"
    other = api.headers("otto", "researcher")
    assert api.client.get(url, headers=other).status_code == 404
    r = api.client.delete(url, headers=api.researcher)
    assert r.status_code == 409 and "is done" in r.json()["detail"]
    r = api.client.post(url + "/resume", headers=api.researcher)
    assert r.status_code == 409


def test_research_only_rules_that_do_not_allow_research_withhold_every_trial(
    api: Any,
) -> None:
    cohort = cohort_id(api)
    ethics = api.service.settings.policies_dir / "ethics.toml"
    text = ethics.read_text()
    text = text.replace('purposes = ["treatment", "research", "quality-improvement"]',
                        'purposes = ["treatment", "quality-improvement"]')  # fmt: skip
    text = text.replace('research = "warn"\n', "")
    ethics.write_text(text)
    terms = api.service.settings.policies_dir / "fhir_terms.toml"  # names ethics' purposes
    kept = [line for line in terms.read_text().splitlines() if '= "research"' not in line]
    terms.write_text("\n".join(kept) + "\n")
    api.service.policies.check_now()
    r = api.client.post(f"/v1/cohorts/{cohort}/trials", json=PLAN, headers=api.researcher)
    assert r.status_code == 403 and "purpose" in r.json()["detail"], r.text
    (refused,) = records(api, "trial.refused")
    assert [c["check"] for c in refused["checks"]] == ["role", "purpose"]
    assert records(api, "trial.start") == []


def test_a_long_trial_is_a_background_job_whose_progress_and_result_are_read(api: Any) -> None:
    api.service.trials.inline_limit = 0  # every trial a background job (chunks run here)
    cohort = cohort_id(api)
    r = api.client.post(f"/v1/cohorts/{cohort}/trials", json=PLAN, headers=api.researcher)
    assert r.status_code == 202 and r.json()["state"] in ("queued", "running", "done")
    url = r.headers["location"]
    api.service.trials.wait(r.json()["id"], timeout=300)
    job = api.client.get(url, headers=api.researcher).json()
    assert job["state"] == "done", job
    assert job["progress"] == {"chunks_done": 2, "chunks_total": 2, "fraction": 1.0}
    assert job["result"]["arms"][0]["attainment"][0]["n"] == 300
    (release,) = records(api, "trial.release")
    assert release["result_digest"] == job["result_digest"]
