"""Helpers of the clinician page tests: sign in, a page's CSRF token, a consented patient,
the prediction form's fields for a demo twin's row."""

from __future__ import annotations

import re
from typing import Any

from api.cli.demo import CLINICIAN, SITE
from api.composition.service import TwinregService
from models.demo_twins import DemoTwin
from tests.conftest import Api

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf(api: Api, path: str = "/ui/sign-in") -> str:
    response = api.client.get(path)
    match = CSRF.search(response.text)
    assert match, response.text[:500]
    return match.group(1)


def sign_in_clinician(api: Api, next_path: str = "/ui/predict") -> None:
    token = api.token(CLINICIAN.user, "clinician", SITE)
    data = {"token": token, "next": next_path, "_csrf_token": csrf(api)}
    assert api.client.post("/ui/sign-in", data=data, follow_redirects=False).status_code == 303


def consented(
    service: TwinregService,
    patient: str,
    twin: DemoTwin,
    purposes: tuple[str, ...] = ("treatment",),
) -> None:
    service.patients.register(CLINICIAN, patient, SITE)
    for purpose in purposes:
        service.patients.grant(
            CLINICIAN, patient, purpose, list(twin.card.data_categories), None, None
        )


def predict_form(
    twin: DemoTwin, patient: str, features: dict[str, float], purpose: str = "treatment"
) -> dict[str, Any]:
    form: dict[str, Any] = {"model": twin.name, "patient_id": patient, "purpose": purpose}
    form |= {f"f_{name}": f"{value:g}" for name, value in features.items()}
    return form
