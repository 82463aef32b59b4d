"""Patient -> a pseudonymous twinreg patient: the identifier of the term map's patient
system is the patient id; ``managingOrganization`` (by identifier, site system) the site.
Nothing that identifies a person is taken: any other element or identifier is refused."""

from __future__ import annotations

from dataclasses import dataclass

from fhir.resources.R4B.patient import Patient

from api.fhir.elements import identifier_in, only, reference_identifier
from api.fhir.errors import Unsupported
from governance.policy.fhir_terms import FhirTerms


@dataclass(frozen=True)
class PatientRef:
    """A patient: its id and site (None: the caller's own site)."""

    patient_id: str
    site: str | None


def map_patient(patient: Patient, terms: FhirTerms, where: str) -> PatientRef:
    only(
        patient,
        ("identifier", "managingOrganization", "active"),
        where,
        "twinreg keeps pseudonymous patients: an identifier and a site",
    )
    found = identifier_in(patient.identifier, terms.patient_system, f"{where}.identifier")
    if found is None:
        raise Unsupported(
            f"give the pseudonymous identifier (system {terms.patient_system})",
            f"{where}.identifier",
        )
    if len(patient.identifier or []) > 1:
        extra = next(i for i in range(len(patient.identifier or [])) if i != found[0])
        raise Unsupported(
            f"only the pseudonymous identifier ({terms.patient_system}) is taken",
            f"{where}.identifier[{extra}]",
        )
    if patient.active is False:
        raise Unsupported("an inactive patient is not registered", f"{where}.active")
    site = reference_identifier(
        patient.managingOrganization, terms.site_system, f"{where}.managingOrganization"
    )
    if patient.managingOrganization is not None and site is None:
        raise Unsupported(
            f"name the site by identifier (system {terms.site_system})",
            f"{where}.managingOrganization",
        )
    return PatientRef(found[1], site)
