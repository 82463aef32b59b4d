"""CDS Hooks: discovery, and the EHR's JWT as CDS Hooks 2.0 requires it — each refusal is a
401 naming its audit record, which says which check failed (the answer does not)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from api.composition.settings import Settings
from governance.audit.reads import payload_of
from tests.api.cds.app import ehr_app
from tests.api.cds.ehr import BASE, Ehr, jwks, new_key
from tests.api.helpers import prepare_patient

RISK = "/cds-services/risk"
CONTEXT = {"patientId": "p-1"}


@pytest.fixture()
def ehr(settings: Settings, tmp_path: Path) -> Iterator[tuple[Any, Ehr]]:
    with ehr_app(settings, tmp_path) as pair:
        yield pair


def refusal(api: Any, response: Any) -> dict[str, Any]:
    """The 401's audit record (and the answer says nothing of which check failed)."""
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["audit_id"]
    found = payload_of(api.service.engine, body["audit_id"])
    assert found is not None and found[0] == "auth.refused"
    return found[1]


def test_discovery_lists_the_services_with_prefetch_templates(ehr: tuple[Any, Ehr]) -> None:
    _, client = ehr
    r = client.discovery()
    assert r.status_code == 200, r.text
    services = {s["id"]: s for s in r.json()["services"]}
    assert {s["hook"] for s in services.values()} >= {"patient-view"}
    risk = services["risk"]
    assert risk["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert "http://loinc.org|8867-4" in risk["prefetch"]["observations"]
    assert "http://snomed.info/sct|49436004" in risk["prefetch"]["conditions"]
    assert risk["title"] and risk["description"]


def test_a_valid_token_is_let_through(ehr: tuple[Any, Ehr]) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    r = client.call("risk", CONTEXT, prefetch={})
    assert r.status_code == 200, r.text
    assert r.json()["cards"]


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("bad_signature", "bad signature"),
        ("unknown_iss", "not an allow-listed issuer"),
        ("unknown_kid", "is not allow-listed"),
        ("wrong_aud", "aud is not"),
        ("exp_too_far", "more than 5 minutes ahead"),
        ("expired", "ExpiredSignatureError"),
        ("hs256", "is not ES384 or RS384"),
        ("no_jti", "MissingRequiredClaimError"),
        ("alg_none", "is not ES384 or RS384"),
        ("es256", "is not ES384 or RS384"),
        ("not_a_jwt", "DecodeError"),
    ],
)
def test_each_refused_token_is_401_and_audited(ehr: tuple[Any, Ehr], case: str, why: str) -> None:
    api, client = ehr
    tokens = {
        "bad_signature": lambda: client.token(RISK, key=new_key()),
        "unknown_iss": lambda: client.token(RISK, iss="https://other-ehr.test"),
        "unknown_kid": lambda: client.token(RISK, header={"kid": "not-listed"}),
        "wrong_aud": lambda: client.token(RISK, aud=BASE + "/cds-services/other"),
        "exp_too_far": lambda: client.token(RISK, exp_in=600),
        "expired": lambda: client.token(RISK, exp_in=-120),
        "hs256": lambda: jwt.encode({"iss": client.issuer, "aud": BASE + RISK},
                                    "secret", algorithm="HS256", headers={"kid": client.kid}),
        "no_jti": lambda: _without_jti(client),
        "alg_none": lambda: jwt.encode({"iss": client.issuer, "aud": BASE + RISK,
                                        "exp": int(time.time()) + 60, "jti": str(uuid.uuid4())},
                                       None, algorithm="none", headers={"kid": client.kid}),
        "es256": lambda: jwt.encode({"iss": client.issuer, "aud": BASE + RISK,
                                     "exp": int(time.time()) + 60, "jti": str(uuid.uuid4())},
                                    ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                                    headers={"kid": client.kid}),
        "not_a_jwt": lambda: "not.a.jwt",
    }  # fmt: skip
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])  # a call could answer
    before = api.service.audit.count()
    r = client.call("risk", CONTEXT, prefetch={}, token=tokens[case]())
    record = refusal(api, r)
    assert why in record["reason"] and record["scheme"] == "cds-hooks-jwt"
    assert why not in r.json()["detail"]  # which check failed: in the audit record only
    assert set(r.json()) >= {"audit_id"} and "cards" not in r.json()
    assert api.service.audit.count() == before + 1  # the refusal's record, nothing else


def _without_jti(client: Ehr) -> str:
    now = int(time.time())
    claims = {"iss": client.issuer, "aud": BASE + RISK, "exp": now + 60, "iat": now}
    return jwt.encode(claims, client.key, algorithm="ES384", headers={"kid": client.kid})


def test_a_replayed_jti_is_refused(ehr: tuple[Any, Ehr]) -> None:
    api, client = ehr
    prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
    jti = str(uuid.uuid4())
    first = client.call("risk", CONTEXT, prefetch={}, token=client.token(RISK, jti=jti))
    assert first.status_code == 200, first.text
    before = api.service.audit.count()
    again = client.call("risk", CONTEXT, prefetch={}, token=client.token(RISK, jti=jti))
    assert "a replay" in refusal(api, again)["reason"]
    assert "cards" not in again.json() and api.service.audit.count() == before + 1


def test_an_unmapped_user_is_refused(ehr: tuple[Any, Ehr]) -> None:
    api, client = ehr
    client.user_id = "Practitioner/unknown"
    r = client.call("risk", CONTEXT, prefetch={})
    assert "unmapped" in refusal(api, r)["reason"]
    assert "context.userId is not mapped" in r.json()["detail"]


def test_without_a_public_base_url_every_call_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    import dataclasses

    from litestar.testing import TestClient

    from api.composition.service import TwinregService
    from api.http.app import create_app

    service = TwinregService(dataclasses.replace(settings, public_base_url=None))
    with TestClient(app=create_app(service=service)) as http:
        client = Ehr(http)
        r = client.call("risk", CONTEXT, prefetch={})
        assert r.status_code == 401 and "TWINREG_PUBLIC_BASE_URL" in r.json()["detail"]
    service.engine.dispose()


def test_an_unknown_service_is_404(ehr: tuple[Any, Ehr]) -> None:
    _, client = ehr
    assert client.call("nothing-here", CONTEXT).status_code == 404


class _JwksHandler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def jku_server() -> Iterator[tuple[str, type[_JwksHandler]]]:
    """A JWK Set served on loopback (the tests never reach the internet)."""
    handler = type("Handler", (_JwksHandler,), {})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json", handler
    server.shutdown()


def test_a_jku_is_used_only_when_allow_listed(
    settings: Settings, tmp_path: Path, jku_server: tuple[str, type[_JwksHandler]]
) -> None:
    url, handler = jku_server
    rotated = new_key()
    handler.body = json.dumps(jwks(rotated, "ehr-key-1")).encode()
    with ehr_app(settings, tmp_path, jku=[url]) as (api, client):
        prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
        signed = client.token(RISK, key=rotated, header={"jku": url})
        assert client.call("risk", CONTEXT, prefetch={}, token=signed).status_code == 200
        other = url.replace("jwks.json", "other.json")
        signed = client.token(RISK, key=rotated, header={"jku": other})
        before = api.service.audit.count()
        r = client.call("risk", CONTEXT, prefetch={}, token=signed)
        assert "is not allow-listed" in refusal(api, r)["reason"]
        assert "cards" not in r.json() and api.service.audit.count() == before + 1


def test_rate_limit_is_per_issuer(settings: Settings, tmp_path: Path) -> None:
    with ehr_app(settings, tmp_path, rate_limit=2) as (api, client):
        prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
        codes = [client.call("risk", CONTEXT, prefetch={}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
