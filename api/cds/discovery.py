"""The services twinreg offers EHRs (``GET /cds-services``), from the CDS map of the
policies (``policies/cds_feature_codes.toml``).

``risk`` (``patient-view``) declares prefetch templates for the FHIR resources its twin's
features come from: the Patient, the Observations with the map's LOINC codes, the
Conditions with its SNOMED CT / ICD-10-CM codes. ``vancomycin-dosing`` (``order-select``)
and ``vancomycin-dosing-sign`` (``order-sign``) read the draft orders of their context and
the patient's twin in twinreg: they prefetch nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from governance.policy.feature_codes import FeatureCodes

RISK = "risk"
DOSING = "vancomycin-dosing"
DOSING_SIGN = "vancomycin-dosing-sign"
#: service id -> (hook, the audit action of its decisions)
HOOKS: dict[str, tuple[str, str]] = {
    RISK: ("patient-view", "prediction"),
    DOSING: ("order-select", "twin.recommendation"),
    DOSING_SIGN: ("order-sign", "twin.recommendation"),
}
PATIENT = "{{context.patientId}}"


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    hook: str
    decision_action: str


def offered(codes: FeatureCodes) -> dict[str, ServiceInfo]:
    """The services the policies configure."""
    ids = ([RISK] if codes.risk else []) + ([DOSING, DOSING_SIGN] if codes.dosing else [])
    return {i: ServiceInfo(i, *HOOKS[i]) for i in ids}


def _risk_prefetch(codes: FeatureCodes) -> dict[str, str]:
    assert codes.risk is not None
    specs = codes.features[codes.risk.model].values()
    observed = sorted({c.token() for s in specs if s.source != "condition" for c in s.codes})
    conditions = sorted({c.token() for s in specs for c in (*s.present, *s.absent)})
    prefetch = {"patient": f"Patient/{PATIENT}"}
    if observed:
        prefetch["observations"] = f"Observation?patient={PATIENT}&code={','.join(observed)}"
    if conditions:
        prefetch["conditions"] = f"Condition?patient={PATIENT}&code={','.join(conditions)}"
    return prefetch


def discovery(codes: FeatureCodes) -> dict[str, Any]:
    services: list[dict[str, Any]] = []
    if codes.risk is not None:
        services.append({
            "hook": "patient-view", "id": RISK, "title": codes.risk.title,
            "description": codes.risk.description, "prefetch": _risk_prefetch(codes),
        })  # fmt: skip
    if codes.dosing is not None:
        for service, hook in ((DOSING, "order-select"), (DOSING_SIGN, "order-sign")):
            services.append({
                "hook": hook, "id": service, "title": codes.dosing.title,
                "description": codes.dosing.description,
            })  # fmt: skip
    return {"services": services}
