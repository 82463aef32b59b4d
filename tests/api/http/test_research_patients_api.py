"""A cohort of real patients: only the site's patient twins whose consents cover research
(never another site's, never a patient consenting to treatment only), at least the
minimum cell size; consents re-checked at each trial (a withdrawn patient leaves the
cohort, and the job says how many left); results under the minimum cell size with
complementary suppression and without minimum or maximum."""

from __future__ import annotations

import json
from typing import Any

from tests.api.helpers import prepare_patient
from tests.api.http.test_research_api import PLAN, records
from tests.api.twin_course import TWIN_CATEGORIES, VANCO, prepare_twin

RESEARCH_CATEGORIES = ["demographics", "labs", "medication"]


def _patients(api: Any, count: int) -> dict[str, str]:
    """``count`` patients of st-mary with a calibrated vancomycin twin and a consent for
    research: patient id -> research consent id."""
    consents = {}
    for i in range(count):
        patient = f"r-{i}"
        prepare_patient(api, patient, TWIN_CATEGORIES)
        consents[patient] = prepare_patient(api, patient, RESEARCH_CATEGORIES, "research")
        prepare_twin(api, patient)
    return consents


def test_patient_cohorts_hold_consenting_patients_of_the_site_and_disclose_no_small_cell(
    api: Any,
) -> None:
    consents = _patients(api, 12)
    prepare_patient(api, "treatment-only", TWIN_CATEGORIES)
    prepare_twin(api, "treatment-only")
    body = {"name": "st-mary-vanco", "model": VANCO, "source": "patients"}
    nowhere = api.headers("rita", "researcher")  # a researcher bound to no site
    assert api.client.post("/v1/cohorts", json=body, headers=nowhere).status_code == 403
    r = api.client.post("/v1/cohorts", json=body, headers=api.researcher)
    assert r.status_code == 201, r.text
    cohort = r.json()
    assert cohort["size"] == 12 and cohort["site"] == "st-mary"
    assert "members" not in cohort and "r-0" not in json.dumps(cohort)
    # another site's researcher does not see it
    elsewhere = api.headers("sam", "researcher", "st-elsewhere")
    assert api.client.get(f"/v1/cohorts/{cohort['id']}", headers=elsewhere).status_code == 404

    url = f"/v1/cohorts/{cohort['id']}/trials"
    job = api.client.post(url, json=PLAN, headers=api.researcher).json()
    assert job["state"] == "done" and job["patients"] == 12 and job["withdrawn"] == 0
    result = job["result"]
    assert result["disclosure"]["real_patients"] is True
    for arm in result["arms"]:
        for output in arm["outputs"]:
            assert "minimum" not in output and "maximum" not in output
            assert all(min(q, 1 - q) * 12 >= 10 for q, _ in output["quantiles"])
        # 12 patients: one of the two cells is below 10, so both are suppressed
        assert arm["attainment"][0]["hits"] is None
    assert result["comparisons"][0]["attainment"][0]["difference"] is None

    # a withdrawn consent: the patient leaves the cohort at the next trial
    api.client.post(f"/v1/patients/r-0/consents/{consents['r-0']}/withdraw",
                    headers=api.clinician)  # fmt: skip
    job = api.client.post(url, json=PLAN, headers=api.researcher).json()
    assert job["patients"] == 11 and job["withdrawn"] == 1
    assert records(api, "trial.start")[-1]["withdrawn"] == 1
    # below the minimum cell size: the trial is withheld, the refusal audited
    for patient in ("r-1", "r-2"):
        api.client.post(f"/v1/patients/{patient}/consents/{consents[patient]}/withdraw",
                        headers=api.clinician)  # fmt: skip
    r = api.client.post(url, json=PLAN, headers=api.researcher)
    assert r.status_code == 403 and "fewer than 10" in r.json()["detail"]
    refused = records(api, "trial.refused")[-1]
    assert refused["checks"][-1]["check"] == "consent" and refused["withdrawn"] == 3


def test_a_patient_cohort_below_the_minimum_cell_size_is_not_drawn(api: Any) -> None:
    _patients(api, 3)
    body = {"name": "tiny", "model": VANCO, "source": "patients"}
    r = api.client.post("/v1/cohorts", json=body, headers=api.researcher)
    assert r.status_code == 403 and "minimum cell size" in r.json()["detail"]
    assert records(api, "cohort.create") == []
