"""FHIR R4 at the edge: pure translation between FHIR resources (validated with
``fhir.resources``' R4B models; FHIR version declared 4.0.1) and twinreg's terms.

No HTTP and no storage here: :mod:`api.composition.fhir` calls the services with what this
package maps, and :mod:`api.http.controllers.fhir` serves it. Errors: :mod:`api.fhir.errors`.
"""
