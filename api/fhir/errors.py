"""Errors of :mod:`api.fhir`: a FHIR resource that cannot be taken as it is.

FhirError            base; ``expression`` names the element (FHIRPath, e.g.
 |                   ``Bundle.entry[2].resource.valueQuantity.code``)
 +-- InvalidResource a resource that does not validate against FHIR R4 (400)
 +-- Unsupported     a valid resource naming what twinreg cannot map exactly: an unknown
                     code, a unit that does not convert, a construct not supported (422)
"""

from __future__ import annotations


class FhirError(Exception):
    """Base of every error raised by :mod:`api.fhir`."""

    def __init__(self, message: str, expression: str) -> None:
        super().__init__(f"{expression}: {message}")
        self.expression = expression


class InvalidResource(FhirError):
    """The resource does not validate (structure, cardinality, data types)."""


class Unsupported(FhirError):
    """The resource validates but names a code, unit or construct twinreg cannot map."""
