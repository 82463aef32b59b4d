"""``twinreg demo-clinic``: twinreg as a hospital's systems reach it, over HTTP on loopback.

A ward's EHR posts a FHIR transaction Bundle (a new patient, their consent, a vancomycin
course); a clinician creates and calibrates the patient's twin; a CGM bound to a glucose
patient's twin publishes a day of readings on MQTT that the ingester stores, and the
twin is recalibrated on them (:mod:`api.cli.demo_clinic_cgm`; skipped with a line saying
why when the broker cannot be reached); and the EHR
calls the CDS services — a risk card on ``patient-view`` and a dosing card on
``order-select`` for a draft vancomycin order — and sends the clinician's feedback. The
EHR is twinreg's own (:mod:`api.cli.ehr`): a key made for the run, its issuer file in a
temporary folder. Runs on a home the demo has prepared (``twinreg demo`` first, or it
runs it quietly).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from rich.console import Console

from api.cli.bench_http import server
from api.cli.demo import CLINICIAN, SITE, register_demo_patients, run_demo
from api.cli.demo_clinic_cgm import run_cgm_day
from api.cli.ehr import BASE, USER_ID, course_bundle, draft_order, issuer_files, risk_prefetch
from api.cli.ehr import token as ehr_token
from api.composition.service import TwinregService
from api.composition.tokens import issue_token

RISK_MODEL = "whas500-mortality"
RISK_PATIENT = "patient-001"
FHIR_PATIENT = "patient-201"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def run_clinic_demo(service: TwinregService, console: Console | None = None) -> int:
    """Every step on a real server; returns the exit status (0: each step answered)."""
    console = console or Console()
    if service.lifecycle.approved_version(RISK_MODEL) is None:
        console.print("the home has no approved demo twins yet: running twinreg demo quietly")
        run_demo(service, Console(quiet=True))
    register_demo_patients(service)  # the EHR's patient-001, consenting to treatment
    clinician = issue_token(service.token_key, CLINICIAN.user, "clinician", SITE, 3600)
    key = ec.generate_private_key(ec.SECP384R1())
    with tempfile.TemporaryDirectory() as tmp:
        env = {"TWINREG_PUBLIC_BASE_URL": BASE,
               "TWINREG_CDS_ISSUERS": str(issuer_files(Path(tmp), key))}  # fmt: skip
        with server(service, 1, env) as base, httpx.Client(base_url=base, timeout=120) as http:
            console.print(f"twinreg serving {service.settings.home} on {base}")
            http.headers["Authorization"] = f"Bearer {clinician}"
            console.rule("1. FHIR R4: the ward's EHR posts a transaction Bundle")
            twin_id = _fhir_course(http, console)
            console.rule("2. Device streams: a CGM publishes a day of readings on MQTT")
            cgm = run_cgm_day(service, http, SITE, console)
            console.rule("3. CDS Hooks: the EHR calls the services")
            _cds(http, key, console, _risk_features(service))
    return 0 if twin_id and cgm is not False else 1


def _fhir_course(http: httpx.Client, console: Console) -> str | None:
    bundle = course_bundle(FHIR_PATIENT, SITE)
    r = http.post("/fhir", json=bundle, headers=FHIR_JSON)
    if r.status_code != 200:
        console.print(f"[red]POST /fhir: {r.status_code} {r.text[:400]}")
        return None
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    console.print(f"POST /fhir: a transaction-response Bundle of {len(statuses)} entries")
    for kind in dict.fromkeys(kinds):
        answered = [s for k, s in zip(kinds, statuses, strict=True) if k == kind]
        console.print(f"  {kind}: {len(answered)} x {', '.join(sorted(set(answered)))}")
    path = f"/v1/patients/{FHIR_PATIENT}/twins"
    r = http.post(path, json={"model": "vancomycin-auc", "purpose": "treatment"})
    if r.status_code != 201:
        console.print(f"[red]POST {path}: {r.status_code} {r.text[:400]}")
        return None
    twin_id: str = r.json()["twin_id"]
    r = http.post(f"{path}/{twin_id}/calibrations")
    if r.status_code != 201:
        console.print(f"[red]calibration: {r.status_code} {r.text[:400]}")
        return None
    params = dict(r.json()["body"]["posterior"]["parameters"])
    console.print(
        f"the twin of {FHIR_PATIENT} learnt from what the EHR sent: clearance "
        f"{params['CL']:.2f} L/h, central volume {params['V1']:.1f} L (state 1, converged)"
    )
    r = http.get("/fhir/Provenance", params={"patient": FHIR_PATIENT, "twin": twin_id})
    if r.status_code == 200:
        total = len(r.json().get("entry", []))
        console.print(f"GET /fhir/Provenance: {total} Provenance of the twin's states")
    return twin_id


def _cds(
    http: httpx.Client,
    key: ec.EllipticCurvePrivateKey,
    console: Console,
    features: dict[str, float],
) -> None:
    services = http.get("/cds-services").json()["services"]
    console.print("discovery: " + ", ".join(f"{s['id']} ({s['hook']})" for s in services))
    risk = _hook(http, key, "risk", "patient-view", {"patientId": RISK_PATIENT},
                 risk_prefetch(RISK_PATIENT, features))  # fmt: skip
    _show_cards(console, f"risk card for {RISK_PATIENT} (patient-view)", risk)
    dosing = _hook(http, key, "vancomycin-dosing", "order-select",
                   {"patientId": FHIR_PATIENT, "selections": ["MedicationRequest/draft-1"],
                    "draftOrders": draft_order(FHIR_PATIENT)}, None)  # fmt: skip
    _show_cards(console, f"dosing card for {FHIR_PATIENT}'s draft 1 g q12h order", dosing)
    cards = dosing.get("cards", [])
    if cards:
        path = "/cds-services/vancomycin-dosing/feedback"
        body = {"feedback": [{"card": cards[0]["uuid"], "outcome": "accepted",
                              "outcomeTimestamp": "2026-03-03T08:00:00Z"}]}  # fmt: skip
        headers = {"Authorization": f"Bearer {ehr_token(key, path)}"}
        r = http.post(path, json=body, headers=headers)
        console.print(f"feedback 'accepted' on the dosing card: {r.status_code}")


def _risk_features(service: TwinregService) -> dict[str, float]:
    """patient-001's features as the EHR holds them: a held-out WHAS500 row."""
    state = service.lifecycle.approved_version(RISK_MODEL)
    assert state is not None
    loaded = service.registry.load(RISK_MODEL, state.version, state.artifact_sha256)
    return {n: float(loaded.evaluation.iloc[0][n]) for n in state.card.feature_names}


def _hook(http: httpx.Client, key: ec.EllipticCurvePrivateKey, service: str, hook: str,
          context: dict[str, Any], prefetch: dict[str, Any] | None) -> dict[str, Any]:  # fmt: skip
    path = f"/cds-services/{service}"
    body: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()),
                            "context": {"userId": USER_ID, **context}}  # fmt: skip
    if prefetch is not None:
        body["prefetch"] = prefetch
    headers = {"Authorization": f"Bearer {ehr_token(key, path)}"}
    r = http.post(path, json=body, headers=headers)
    answer: dict[str, Any] = r.json() if r.status_code == 200 else {"error": r.text[:400]}
    return answer


def _show_cards(console: Console, title: str, answer: dict[str, Any]) -> None:
    console.print(f"[bold]{title}")
    if "error" in answer:
        console.print(f"[red]  {answer['error']}")
        return
    for card in answer.get("cards", []):
        source = card.get("source", {}).get("label", "")
        console.print(f"  [{card.get('indicator')}] {card.get('summary')} ({source})")
        for line in str(card.get("detail", "")).splitlines()[:8]:
            console.print(f"    {line}", markup=False)
        for suggestion in card.get("suggestions", []):
            console.print(f"    suggestion: {suggestion.get('label')}", markup=False)
