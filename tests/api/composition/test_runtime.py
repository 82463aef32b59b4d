"""Where a prediction runs: on the event loop only when it is quick and waits on nothing."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import features_of, prepare_patient, twin_named
from tests.conftest import BACKEND

CATEGORIES = ["demographics", "vitals", "history"]


def test_warm_predictions_run_on_the_loop_only_with_a_local_store(
    api: Any, demo_twins: list[Any]
) -> None:
    runtime = api.service.runtime
    twin = twin_named(demo_twins, "whas500-mortality")
    assert not runtime.is_warm(twin.name)  # not loaded yet: loading goes to a thread
    prepare_patient(api, "p-warm", CATEGORIES)
    response = api.client.post(
        "/v1/predictions",
        json={
            "model": twin.name,
            "patient_id": "p-warm",
            "purpose": "treatment",
            "features": features_of(twin),
        },
        headers=api.clinician,
    )
    assert response.status_code == 200, response.text
    # Loaded now; on PostgreSQL every decision waits on the network (and the audit
    # chain's lock), so it never runs on the event loop.
    assert runtime.is_warm(twin.name) is (BACKEND == "sqlite")
    assert runtime.is_warm(twin.name, "1") is (BACKEND == "sqlite")
    assert not runtime.is_warm(twin.name, "2")
    assert not runtime.is_warm("vancomycin-auc")
