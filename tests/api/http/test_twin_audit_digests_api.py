"""The digests in the audit records of a patient's twin operations (issue 14, gap c) are
HMACs under the patient's own data key, not the site-wide pseudonymiser's: a low-entropy
value (a dose, a clearance) cannot be confirmed from the audit log by guessing, and once
the patient is erased (the key destroyed) nobody can recompute them. (A first twin's
creation digests constants, ``{}`` and ``{"state": 0}``, before the patient has a key.)"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from sqlalchemy import text

from governance.errors import PatientErased
from governance.identity.principal import Principal
from tests.api.twin_course import (
    COVARIATES,
    DOSES,
    LEVELS,
    P1,
    add,
    audit_body,
    calibrate,
    new_twin,
)

REGIMEN = {"dose_mg": 1250, "interval_h": 12, "n_doses": 4, "start": "2026-03-03T08:00:00Z"}


def _data_key(api: Any) -> bytes:
    twins = api.service.twins
    key = twins.patient(Principal("carla", "clinician", "st-mary"), "p-1", "read", None)
    with api.service.engine.connect() as conn:
        data_key: bytes = twins.bank._keys.data_key(conn, key)
    return data_key


def _hmac(key: bytes, value: Any) -> str:
    plain = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key, plain.encode("utf-8"), hashlib.sha256).hexdigest()


def _course(api: Any) -> dict[str, Any]:
    """A calibrated twin with a forecast and a recommendation: action -> (record, body)."""
    twin = new_twin(api)
    assert add(api, COVARIATES + DOSES + LEVELS).status_code == 201
    done = {"twin.calibration": calibrate(api, twin).json()}
    for route, body in (("forecasts", REGIMEN), ("recommendations", {})):
        r = api.client.post(f"{P1}/twins/{twin}/{route}", json=body, headers=api.clinician)
        assert r.status_code == 201, r.text
        done[f"twin.{route[:-1]}"] = r.json()
    return done


def test_output_digests_are_hmacs_under_the_patient_key_unlinkable_once_erased(
    api: Any,
) -> None:
    done = _course(api)
    key = _data_key(api)
    for action, answer in done.items():
        record = audit_body(api, answer["audit_id"])
        assert record["action"] == action
        assert record["output_digest"] == _hmac(key, {"p": answer["body"], "e": {}}), action
    r = api.client.post(P1 + "/erase?site=st-mary", json={"reason": "patient's request"},
                        headers=api.admin)  # fmt: skip
    assert r.status_code == 200, r.text
    with pytest.raises(PatientErased):
        _data_key(api)


@pytest.mark.parametrize("action", ["twin.calibration", "twin.forecast", "twin.recommendation"])
def test_no_twin_operation_record_is_digested_with_the_site_wide_key(api: Any, action: str) -> None:
    _course(api)
    key = _data_key(api)
    with api.service.engine.connect() as conn:
        query = text("SELECT record_id FROM audit_record WHERE action = :a")
        ids = [r[0] for r in conn.execute(query, {"a": action})]
    assert ids
    site_wide = api.service.pseudonymiser.digest(b"{}")
    for record_id in ids:
        record = audit_body(api, record_id)
        assert record["input_digest"] == _hmac(key, {}) != site_wide
