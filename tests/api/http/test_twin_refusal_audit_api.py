"""The audit record of a refused calibration says why (issue 14, gap d): the reason class
and the missing or offending field or covariate, by name; never a patient's value (no
observation time, level, dose or covariate value appears in the record)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.api.twin_course import COVARIATES, DOSES, LEVELS, add, audit_body, calibrate, new_twin
from tests.api.twin_course import obs as observation

EARLY = observation("early", "vancomycin_level", "2026-03-01T07:00:00Z", value=9.5, unit="mg/L")
CRRT = observation("crrt", "dialysis_status", "2026-03-01T07:00:00Z",
                   value="continuous_renal_replacement")  # fmt: skip
CHILD = observation("age", "age", "2026-03-01T06:00:00Z", value=16, unit="a")


@pytest.mark.parametrize(
    ("observations", "why"),
    [
        (COVARIATES[:3] + DOSES + LEVELS, "missing: covariates.serum_creatinine"),
        ([c for c in COVARIATES if c["kind"] != "sex"] + DOSES + LEVELS, "missing: covariates.sex"),
        (COVARIATES + LEVELS, "missing: vancomycin_dose"),
        (COVARIATES + DOSES, "missing: levels"),
        (COVARIATES + DOSES + LEVELS + [EARLY], "contradictory: levels"),
        (COVARIATES + DOSES + LEVELS + [CRRT], "outside_model: dialysis_status"),
        ([CHILD, *COVARIATES[1:], *DOSES, *LEVELS], "outside_model: age"),
    ],
    ids=["creatinine", "sex", "dose", "levels", "level-before-dose", "crrt", "age"],
)  # fmt: skip
def test_a_refused_calibration_is_audited_with_its_reason_class_and_field(
    api: Any, observations: list[dict[str, Any]], why: str
) -> None:
    twin = new_twin(api)
    assert add(api, observations).status_code == 201
    r = calibrate(api, twin)
    assert r.status_code in (403, 422), r.text
    record = audit_body(api, r.json()["audit_id"])
    assert record["action"] == "twin.calibration" and record["decision"] == "withheld"
    last = record["checks"][-1]
    assert last["check"] == "explanation" and not last["passed"]
    assert last["detail"] == f"the prediction could not be computed ({why})"
    # no time or value of the patient's observations (digests, ids and the server's own
    # times aside: a record made at 16:xx holds "T16:" and the child's age is 16)
    text = re.sub(r"[0-9a-f]{64}|[0-9a-f-]{36}", "#", json.dumps(record))
    dates = {entry["time"][:10] for entry in observations}
    text = re.sub(
        r"(\d{4}-\d{2}-\d{2})T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?",
        lambda m: m.group(0) if m.group(1) in dates else "#",
        text,
    )
    for entry in observations:
        assert entry["time"][:10] not in text
        if isinstance(entry.get("value"), int | float):
            assert not re.search(rf"(?<![\d.]){entry['value']}(?![\d.])", text), entry
