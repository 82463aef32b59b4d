"""A governance store that fails while a check runs withholds the decision: recorded
(check ``store``), then :class:`StoreUnavailable` (issue 13, finding 11)."""

from __future__ import annotations

from typing import Any

import pytest

from governance.errors import StoreUnavailable
from governance.identity.principal import Principal
from governance.release.decision import PredictionRequest
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, prepare_patient, run_sql, twin_named

WHAS = "whas500-mortality"
CARE = Principal(user="carla", role="clinician", site="st-mary")


def test_a_store_error_in_a_check_withholds_and_is_recorded(
    api: Any, demo_twins: list[DemoTwin]
) -> None:
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    gate, service = api.service.gate, api.service
    facts = gate.facts(CARE, WHAS, None, "p-1", "treatment")
    request = PredictionRequest(WHAS, "p-1", "treatment", features_of(twin_named(demo_twins, WHAS)))
    url = service.settings.governance_url
    before = service.audit.count()
    # the bias-audit check reads the latest audit (not cached yet in this fresh service)
    run_sql(url, "ALTER TABLE bias_audit RENAME TO bias_audit_gone")
    try:
        with pytest.raises(StoreUnavailable) as raised:
            gate.decide(CARE, request, facts, service.runtime)
    finally:
        run_sql(url, "ALTER TABLE bias_audit_gone RENAME TO bias_audit")
    assert service.audit.count() == before + 1
    record = service.audit.records(limit=10_000)[-1]
    assert record["record_id"] == raised.value.audit_id
    assert record["decision"] == "withheld"
    assert [c["check"] for c in record["checks"]] == [
        "role",
        "purpose",
        "site",
        "consent",
        "approval",
        "store",
    ]
    assert record["output_digest"] is None
