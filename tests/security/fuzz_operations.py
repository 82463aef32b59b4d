"""The operations the fuzz covers, and what each may answer: the statuses a schema-valid
request may meet besides 2xx (:data:`ACCEPTED`), the principal that may call each
(:func:`headers_for`), and the withheld decisions that answer 403 with a decision body
instead of a problem (:func:`withheld`).
"""

from __future__ import annotations

from typing import Any

#: Every operation of the schema. A new endpoint fails ``test_every_operation_is_fuzzed``
#: until it is listed here (and so fuzzed).
OPERATIONS = [
    ("GET", "/health"),
    ("GET", "/cds-services"),
    ("POST", "/v1/predictions"),
    ("POST", "/v1/simulations"),
    ("GET", "/v1/patients/{patient_id}/consents"),
    ("POST", "/v1/patients/{patient_id}/consents"),
    ("PUT", "/v1/patients/{patient_id}"),
    ("POST", "/v1/patients/{patient_id}/consents/{consent_id}/withdraw"),
    ("POST", "/v1/models/{name}/versions/{version}/approve"),
    ("POST", "/v1/models/{name}/versions/{version}/bias-audits"),
    ("POST", "/v1/models/{name}/versions/{version}/dossier"),
    ("GET", "/v1/models/{name}/versions/{version}/dossier"),
    ("GET", "/v1/models/{name}/versions/{version}/dossier/changes"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/{name}"),
    ("POST", "/v1/models/{name}/versions/{version}/reinstate"),
    ("POST", "/v1/models/{name}/versions/{version}/reject"),
    ("POST", "/v1/models/{name}/versions/{version}/suspend"),
    ("GET", "/v1/models/{name}/versions/{version}"),
    ("GET", "/v1/audit/records"),
    ("GET", "/v1/audit/verify"),
    ("POST", "/v1/predictions/{audit_id}/overrides"),
    ("GET", "/v1/reports/ethics"),
    ("POST", "/v1/patients/{patient_id}/twins"),
    ("POST", "/v1/patients/{patient_id}/observations"),
    ("POST", "/v1/patients/{patient_id}/twins/{twin_id}/calibrations"),
    ("POST", "/v1/patients/{patient_id}/twins/{twin_id}/forecasts"),
    ("POST", "/v1/patients/{patient_id}/twins/{twin_id}/recommendations"),
    ("GET", "/v1/patients/{patient_id}/twins/{twin_id}/thread"),
    ("POST", "/v1/patients/{patient_id}/twins/{twin_id}/consent-gaps"),
    ("POST", "/v1/patients/{patient_id}/twins/{twin_id}/moves"),
    ("POST", "/v1/patients/{patient_id}/erase"),
    ("POST", "/v1/devices/{device_id}/binding"),
    ("DELETE", "/v1/devices/{device_id}/binding"),
    ("POST", "/v1/cohorts"),
    ("GET", "/v1/cohorts"),
    ("GET", "/v1/cohorts/{cohort_id}"),
    ("POST", "/v1/cohorts/{cohort_id}/trials"),
    ("GET", "/v1/jobs/{job_id}"),
    ("DELETE", "/v1/jobs/{job_id}"),
    ("POST", "/v1/jobs/{job_id}/resume"),
]

#: Operations of the schema the fuzz leaves out, and why.
NOT_FUZZED: dict[tuple[str, str], str] = {
    operation: "authenticated by an EHR's JWT, usable once (its jti): a fixed header cannot "
    "reach the handler twice; covered by tests/api/http/test_cds_hooks_*"
    for operation in [
        ("POST", "/cds-services/{service_id}"),
        ("POST", "/cds-services/{service_id}/feedback"),
    ]
}

#: ``positive_data_acceptance``: what a schema-valid request may answer, per operation,
#: besides 2xx. Each refusal needs what a schema cannot say (the server's state, a model's
#: own card, a relation between two values):
#:
#: - 404: a well-formed identifier that names nothing (model, version, patient, consent,
#:   decision);
#: - 409: the current state forbids it (a lifecycle transition from the wrong state, a
#:   consent already withdrawn, a decision that was not released, no dossier yet);
#: - 403: a withheld decision (consent, purpose, envelope: the gate's answer to valid data),
#:   a registration at another site than the caller's (``PUT``'s body ``site``), or a
#:   consent route's ``?site=`` naming another site than the caller's: patient ids are
#:   scoped per site, and which sites a caller may act at is the policy's, not the
#:   schema's (:data:`SITE_SCOPED`: that 403 must come from such a ``site``);
#: - 422 on predictions and simulations: a model or version in the body that does not
#:   exist, the features against the model's own card (unknown, missing or out-of-range
#:   ones, an output of another kind), a purpose the model is not for; on the ethics
#:   report: ``until`` not after ``since``.
#: - 422 on the patient, consent, lifecycle and override operations: free-text identifiers
#:   and texts must be printable (Python's ``str.isprintable``, which no JSON Schema
#:   ``pattern`` states), and a site, comment or reason must not be blank -- a rule of
#:   ``api/http/schemas.py``'s request bodies that their schema does not state yet (``minLength``
#:   or a ``pattern`` there would narrow these to 404/409).
#:
#: Model names and versions in paths are documented with the pattern ``check_reference``
#: applies, so a schema-valid reference there is at worst unknown (404), never a 422. 401,
#: 429 and 5xx are never expected: the fuzz sends a valid token, stays under the rate limit,
#: and a 5xx is a bug.
ACCEPTED: dict[tuple[str, str], list[str]] = {
    ("GET", "/health"): [],
    ("GET", "/cds-services"): [],
    ("POST", "/v1/predictions"): ["403", "422"],
    ("POST", "/v1/simulations"): ["403", "422"],
    ("GET", "/v1/patients/{patient_id}/consents"): ["403", "404", "422"],
    ("POST", "/v1/patients/{patient_id}/consents"): ["403", "404", "422"],
    ("PUT", "/v1/patients/{patient_id}"): ["403", "422"],
    ("POST", "/v1/patients/{patient_id}/consents/{consent_id}/withdraw"): [
        "403",
        "404",
        "409",
        "422",
    ],
    ("POST", "/v1/models/{name}/versions/{version}/approve"): ["404", "409", "422"],
    ("POST", "/v1/models/{name}/versions/{version}/bias-audits"): ["404", "409"],
    ("POST", "/v1/models/{name}/versions/{version}/dossier"): ["404", "409"],
    ("GET", "/v1/models/{name}/versions/{version}/dossier"): ["404", "409"],
    ("GET", "/v1/models/{name}/versions/{version}/dossier/changes"): ["404", "409"],
    ("GET", "/v1/models"): [],
    ("GET", "/v1/models/{name}"): ["404"],
    ("POST", "/v1/models/{name}/versions/{version}/reinstate"): ["404", "409", "422"],
    ("POST", "/v1/models/{name}/versions/{version}/reject"): ["404", "409", "422"],
    ("POST", "/v1/models/{name}/versions/{version}/suspend"): ["404", "409", "422"],
    ("GET", "/v1/models/{name}/versions/{version}"): ["404"],
    ("GET", "/v1/audit/records"): [],
    ("GET", "/v1/audit/verify"): [],
    ("POST", "/v1/predictions/{audit_id}/overrides"): ["404", "409", "422"],
    ("GET", "/v1/reports/ethics"): ["422"],
    # patient twins: 403 a withheld operation (the release gate, a consent missing for an
    # observation's category, another site named); 404 an unknown patient or twin; 409
    # an erased patient, a retired twin, an observation id stored with other content;
    # 422 the observation schema against the kind table (units, bounds, codes, zones),
    # a model or purpose that does not exist, data insufficient to calibrate, a grid
    # whose values contradict each other.
    **{
        operation: ["403", "404", "409", "422"]
        for operation in [
            ("POST", "/v1/patients/{patient_id}/twins"),
            ("POST", "/v1/patients/{patient_id}/observations"),
            ("POST", "/v1/patients/{patient_id}/twins/{twin_id}/calibrations"),
            ("POST", "/v1/patients/{patient_id}/twins/{twin_id}/forecasts"),
            ("POST", "/v1/patients/{patient_id}/twins/{twin_id}/recommendations"),
            ("GET", "/v1/patients/{patient_id}/twins/{twin_id}/thread"),
            # a consent gap: 422 no open gap starting then, or none inside to fill; 409
            # observations inside a gap confirmed empty
            ("POST", "/v1/patients/{patient_id}/twins/{twin_id}/consent-gaps"),
            # a move: 409 already on the approved version (or none approved), 422 a blank
            # reason or a version that does not exist
            ("POST", "/v1/patients/{patient_id}/twins/{twin_id}/moves"),
        ]
    },
    # erase (an admin): 422 without ?site= (the admin names the patient's site) or a blank
    # reason; 404 a patient not registered there.
    ("POST", "/v1/patients/{patient_id}/erase"): ["403", "404", "422"],
    # a device binding: 404 a patient or twin not registered at the caller's site, 409 a
    # device already bound (or an erased patient), 422 an id the binding cannot use (a
    # device id outside its pattern)
    ("POST", "/v1/devices/{device_id}/binding"): ["404", "409", "422"],
    # unbinding: 404 a device bound to nothing, 422 a device id outside the pattern
    ("DELETE", "/v1/devices/{device_id}/binding"): ["404", "409", "422"],
    # research (bodies are read as bytes after the role check, so the schema states no
    # shape): 422 a body that is not a cohort or a plan (naming the field); 404 an unknown
    # model, cohort or job; 403 a cohort of patients without a site or below the minimum
    # cell size, a trial the gate withholds; 409 a job not in a state to cancel or resume
    ("POST", "/v1/cohorts"): ["403", "404", "409", "422"],
    ("GET", "/v1/cohorts"): [],
    ("GET", "/v1/cohorts/{cohort_id}"): ["404"],
    ("POST", "/v1/cohorts/{cohort_id}/trials"): ["403", "404", "409", "422"],
    ("GET", "/v1/jobs/{job_id}"): ["404"],
    ("DELETE", "/v1/jobs/{job_id}"): ["404", "409"],
    ("POST", "/v1/jobs/{job_id}/resume"): ["403", "404", "409", "422"],
}
#: Operations whose only justified 422 for schema-valid data is about one field: a
#: positive case answered 422 must name it (the report's ``until`` not after ``since``).
REFUSED_FIELDS: dict[tuple[str, str], str] = {("GET", "/v1/reports/ethics"): "until"}

#: Routes that act on the patient of an id at a site (``?site=``, default the caller's own):
#: a schema-valid request answered 403 there must name another site than the caller's
#: (:data:`CALLER_SITE`), never be refused for the id it names.
SITE_SCOPED = {
    ("GET", "/v1/patients/{patient_id}/consents"),
    ("POST", "/v1/patients/{patient_id}/consents"),
    ("POST", "/v1/patients/{patient_id}/consents/{consent_id}/withdraw"),
}
#: The site of the clinician the patient routes are fuzzed as (``tests/conftest.py``).
CALLER_SITE = "st-mary"

#: A withheld decision is a 403 with the decision's JSON body (its reasons and audit id),
#: not a problem document.
WITHHOLDING = {("POST", "/v1/predictions"), ("POST", "/v1/simulations")}


def withheld(method: str, path: str, status: int) -> bool:
    return status == 403 and (method, path) in WITHHOLDING


def headers_for(api: Any, method: str, path: str) -> dict[str, str]:
    """The principal allowed to call ``method path`` (so the fuzz reaches the handler)."""
    if path.endswith("/erase"):
        return dict(api.admin)  # erasing a patient is an admin's
    if path.startswith(("/v1/cohorts", "/v1/jobs")):
        return dict(api.researcher)  # cohorts and trials
    if path.startswith(("/v1/patients", "/v1/predictions", "/v1/simulations", "/v1/devices")):
        return dict(api.clinician)
    if path.endswith(("/suspend", "/reinstate")):
        return dict(api.ethics)  # the stop button and its undoing
    if path.startswith("/v1/models"):
        return dict(api.validator)  # approvals, bias audits, dossiers, and the model reads
    return dict(api.ethics)  # audit, reports, health
