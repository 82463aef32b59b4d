"""CDS Hooks feedback: a card accepted or overridden is recorded like an override of its
decision (the card's uuid is the decision's audit id), sent again changes nothing, and the
ethics report counts accepted and overridden cards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.composition.settings import Settings
from models.demo_twins import DemoTwin
from tests.api.cds.app import ehr_app
from tests.api.cds.ehr import Ehr
from tests.api.helpers import features_of, prepare_patient, twin_named
from tests.api.http.test_cds_hooks_risk_api import CATEGORIES, MODEL, prefetch_for

AT = "2026-03-01T10:05:00Z"


@pytest.fixture()
def ehr(settings: Settings, tmp_path: Path) -> Iterator[tuple[Any, Ehr]]:
    with ehr_app(settings, tmp_path) as pair:
        yield pair


def risk_card(api: Any, client: Ehr, demo_twins: list[DemoTwin], row: int = 3) -> dict[str, Any]:
    prefetch = prefetch_for(features_of(twin_named(demo_twins, MODEL), row))
    [card] = client.call("risk", {"patientId": "p-1"}, prefetch).json()["cards"]
    assert "source" in card and "url" in card["source"], card  # released
    return card  # type: ignore[no-any-return]


def report(api: Any) -> dict[str, Any]:
    r = api.client.get("/v1/reports/ethics", headers=api.ethics)
    assert r.status_code == 200, r.text
    return r.json()["overrides"]  # type: ignore[no-any-return]


def test_accepted_and_overridden_cards_are_recorded_once_and_reported(
    ehr: tuple[Any, Ehr], demo_twins: list[DemoTwin]
) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", CATEGORIES)
    accepted, overridden = risk_card(api, client, demo_twins), risk_card(api, client, demo_twins)
    r = client.feedback("risk", [{"card": accepted["uuid"], "outcome": "accepted",
                                  "acceptedSuggestions": [], "outcomeTimestamp": AT}])  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["feedback"] == [{"card": accepted["uuid"], "recorded": "accepted"}]
    reason = {"reason": {"system": "urn:twinreg:cds:override-reason",
                         "code": "clinical-judgement", "display": "Clinical judgement differs"},
              "userComment": "recent *bleed*"}  # fmt: skip
    entry = {"card": overridden["uuid"], "outcome": "overridden", "overrideReason": reason,
             "outcomeTimestamp": AT}  # fmt: skip
    assert client.feedback("risk", [entry]).status_code == 200
    again = client.feedback("risk", [entry])  # sent again: idempotent
    assert again.json()["feedback"] == [{"card": overridden["uuid"],
                                         "recorded": "already recorded"}]  # fmt: skip
    counts = report(api)
    assert (counts["total"], counts["accepted"], counts["overridden"]) == (2, 1, 1)
    recorded = {e["audit_id"]: e for e in counts["entries"]}
    assert recorded[overridden["uuid"]]["reason"] == "Clinical judgement differs; recent *bleed*"
    assert recorded[accepted["uuid"]]["clinician"] == "carla"


def test_another_outcome_for_a_recorded_card_is_a_conflict(
    ehr: tuple[Any, Ehr], demo_twins: list[DemoTwin]
) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", CATEGORIES)
    card = risk_card(api, client, demo_twins)
    ok = client.feedback("risk", [{"card": card["uuid"], "outcome": "accepted",
                                   "outcomeTimestamp": AT}])  # fmt: skip
    assert ok.status_code == 200
    r = client.feedback("risk", [{"card": card["uuid"], "outcome": "overridden",
                                  "outcomeTimestamp": AT}])  # fmt: skip
    assert r.status_code == 409 and r.json()["audit_id"]


def test_unknown_cards_and_other_services_cards_are_404_and_nothing_is_recorded(
    ehr: tuple[Any, Ehr], demo_twins: list[DemoTwin]
) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", CATEGORIES)
    card = risk_card(api, client, demo_twins)
    entries = [{"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": AT},
               {"card": "0b2e1a3c-1f4e-4e7a-9b1a-2f7c1d9e8a01", "outcome": "accepted",
                "outcomeTimestamp": AT}]  # fmt: skip
    r = client.feedback("risk", entries)
    assert r.status_code == 404 and r.json()["audit_id"]
    wrong = client.feedback("vancomycin-dosing", entries[:1])  # a risk card
    assert wrong.status_code == 404
    assert report(api)["total"] == 0  # the valid entry was not recorded either


def test_feedback_on_an_info_card_is_noted_only(
    ehr: tuple[Any, Ehr], demo_twins: list[DemoTwin]
) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", ["demographics", "vitals"])  # withheld: consent
    prefetch = prefetch_for(features_of(twin_named(demo_twins, MODEL), 3))
    [card] = client.call("risk", {"patientId": "p-1"}, prefetch).json()["cards"]
    r = client.feedback("risk", [{"card": card["uuid"], "outcome": "overridden",
                                  "outcomeTimestamp": AT}])  # fmt: skip
    assert r.json()["feedback"] == [{"card": card["uuid"], "recorded": "noted"}]
    assert report(api)["total"] == 0
    assert api.service.audit.records(action="cds.feedback.noted")


def test_malformed_feedback_is_422_naming_the_field(ehr: tuple[Any, Ehr]) -> None:
    _, client = ehr
    r = client.feedback("risk", [{"card": "not-a-uuid", "outcome": "accepted",
                                  "outcomeTimestamp": AT}])  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "feedback[0].card"
    r = client.feedback("risk", [{"card": "0b2e1a3c-1f4e-4e7a-9b1a-2f7c1d9e8a01",
                                  "outcome": "ignored", "outcomeTimestamp": AT}])  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "feedback[0].outcome"


def test_the_overrides_api_takes_accepted(ehr: tuple[Any, Ehr], demo_twins: list[DemoTwin]) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", CATEGORIES)
    card = risk_card(api, client, demo_twins)
    r = api.client.post(f"/v1/predictions/{card['uuid']}/overrides", headers=api.clinician,
                        json={"action": "accepted"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["action"] == "accepted" and report(api)["accepted"] == 1


def test_an_ehr_cannot_give_feedback_on_a_decision_of_a_user_it_does_not_map(
    ehr: tuple[Any, Ehr], demo_twins: list[DemoTwin]
) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", CATEGORIES)
    features = features_of(twin_named(demo_twins, MODEL), 3)
    other = api.headers("zoe", "clinician", "st-mary")  # a clinician the EHR does not map
    r = api.client.post(
        "/v1/predictions",
        headers=other,
        json={"model": MODEL, "patient_id": "p-1", "purpose": "treatment", "features": features},
    )
    assert r.status_code == 200, r.text
    entry = {"card": r.json()["audit_id"], "outcome": "accepted", "outcomeTimestamp": AT}
    assert client.feedback("risk", [entry]).status_code == 404
    assert report(api)["total"] == 0
