"""An EHR as the CDS Hooks 2.0 specification describes one, for the tests: its own key pair
(ES384, or RS384), a JWK Set it publishes, a signed JWT per call (iss, aud = the service
URL called, exp, iat, jti), discovery, hook calls with context and prefetch, feedback.

Nothing here uses twinreg's code: the tokens are made with PyJWT and the key with
cryptography, the resources are plain FHIR R4 JSON, the calls plain HTTP.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

BASE = "https://twinreg.example.test"
ISSUER = "https://ehr.example.test"
KID = "ehr-key-1"
USER_ID = "Practitioner/pr-77"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"


def new_key(alg: str = "ES384") -> Any:
    if alg == "RS384":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP384R1())


def jwks(key: Any, kid: str, alg: str = "ES384") -> dict[str, Any]:
    """The public JWK Set of ``key`` (what the EHR publishes)."""
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS384" else jwt.algorithms.ECAlgorithm
    jwk = json.loads(algorithm.to_jwk(key.public_key()))
    return {"keys": [{**jwk, "kid": kid, "alg": alg, "use": "sig"}]}


@dataclass
class Ehr:
    """One EHR: an issuer, a signing key and the HTTP client that reaches twinreg."""

    client: Any
    issuer: str = ISSUER
    kid: str = KID
    alg: str = "ES384"
    key: Any = field(default=None)
    user_id: str = USER_ID

    def __post_init__(self) -> None:
        if self.key is None:
            self.key = new_key(self.alg)

    def token(self, path: str, *, aud: str | None = None, exp_in: int = 60,
              jti: str | None = None, header: dict[str, Any] | None = None,
              key: Any = None, **claims: Any) -> str:  # fmt: skip
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": aud or BASE + path, "exp": now + exp_in,
                   "iat": now, "jti": jti or str(uuid.uuid4()), **claims}  # fmt: skip
        headers = {"kid": self.kid, "typ": "JWT", **(header or {})}
        return jwt.encode(payload, key or self.key, algorithm=self.alg, headers=headers)

    def discovery(self) -> Any:
        return self.client.get("/cds-services")

    def call(self, service: str, context: dict[str, Any], prefetch: dict[str, Any] | None = None,
             token: str | None = None, hook: str = "patient-view") -> Any:  # fmt: skip
        path = f"/cds-services/{service}"
        body: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()),
                                "context": {"userId": self.user_id, **context}}  # fmt: skip
        if prefetch is not None:
            body["prefetch"] = prefetch
        return self.client.post(
            path, json=body, headers={"Authorization": f"Bearer {token or self.token(path)}"}
        )

    def feedback(self, service: str, entries: list[dict[str, Any]]) -> Any:
        path = f"/cds-services/{service}/feedback"
        return self.client.post(
            path,
            json={"feedback": entries},
            headers={"Authorization": f"Bearer {self.token(path)}"},
        )


def issuers_file(folder: Path, ehr: Ehr, site: str, user: str = "carla",
                 jku: list[str] | None = None, rate_limit: int | None = None) -> Path:  # fmt: skip
    """The administrator's configuration of ``ehr``: its JWK Set file and issuer table."""
    (folder / "ehr.jwks.json").write_text(json.dumps(jwks(ehr.key, ehr.kid, ehr.alg)))
    lines = [f'[issuers."{ehr.issuer}"]', f'site = "{site}"', 'jwks = "ehr.jwks.json"',
             f'kids = ["{ehr.kid}"]']  # fmt: skip
    if jku:
        lines.append(f"jku = {json.dumps(jku)}")
    if rate_limit:
        lines.append(f"rate_limit = {rate_limit}")
    lines += [f'[issuers."{ehr.issuer}".users]',
              f'"{ehr.user_id}" = {{ user = "{user}", role = "clinician" }}']  # fmt: skip
    path = folder / "cds-issuers.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


# -- FHIR R4 resources as an EHR sends them -------------------------------------------------
def coding(system: str, code: str, display: str = "") -> dict[str, Any]:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def patient(pid: str, birth: date, gender: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth.isoformat(), "gender": gender}


def quantity(value: float, code: str) -> dict[str, Any]:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def observation(oid: str, pid: str, code: str, when: str, value: float | None = None,
                unit: str = "", components: list[tuple[str, float, str]] | None = None,
                status: str = "final") -> dict[str, Any]:  # fmt: skip
    obs: dict[str, Any] = {"resourceType": "Observation", "id": oid, "status": status,
                           "code": {"coding": [coding(LOINC, code)]},
                           "subject": {"reference": f"Patient/{pid}"},
                           "effectiveDateTime": when}  # fmt: skip
    if value is not None:
        obs["valueQuantity"] = quantity(value, unit)
    if components:
        obs["component"] = [{"code": {"coding": [coding(LOINC, c)]}, "valueQuantity":
                             quantity(v, u)} for c, v, u in components]  # fmt: skip
    return obs


def condition(cid: str, pid: str, code: str, system: str = SNOMED,
              status: str = "active") -> dict[str, Any]:  # fmt: skip
    return {"resourceType": "Condition", "id": cid,
            "clinicalStatus": {"coding": [coding(
                "http://terminology.hl7.org/CodeSystem/condition-clinical", status)]},
            "code": {"coding": [coding(system, code)]},
            "subject": {"reference": f"Patient/{pid}"}}  # fmt: skip


def bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": r} for r in resources]}  # fmt: skip
