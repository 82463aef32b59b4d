"""Errors of the ``models`` package.

ModelsError
 +-- CardError        a twin card (metadata) is malformed
 +-- ArtifactFormatError  a model file cannot be written or read in its safe format
 +-- DemoDataUnavailable  the demo data sets' optional package is not installed
 +-- DoseInputError   inputs a dosing algorithm cannot read (a code out of range, no
                      positive dose)
 +-- FieldInputError  an input named by ``field`` is outside what ``allowed`` says; the
                      base of models.mechanistic's and models.trials' input errors
"""


class ModelsError(Exception):
    """Base of every error raised by :mod:`models`."""


class CardError(ModelsError):
    """A twin card is malformed; the message says which field and why."""


class ArtifactFormatError(ModelsError):
    """A model artifact cannot be serialised or read back in its safe format."""


class DemoDataUnavailable(ModelsError):
    """The demo data sets' package (scikit-survival, the ``demo`` extra) is not installed;
    the message says what to install."""


class DoseInputError(ModelsError, ValueError):
    """Inputs a dosing algorithm cannot read; the message names the input and why."""


class FieldInputError(ModelsError, ValueError):
    """An input is outside its allowed range or form.

    ``field`` names the offending input and ``allowed`` describes what is accepted, so an
    API layer can turn the error into a problem-details body without parsing the message.
    """

    def __init__(self, field: str, allowed: str, got: object = None) -> None:
        self.field = field
        self.allowed = allowed
        self.got = got
        detail = f"{field} must be {allowed}"
        if got is not None:
            detail += f" (got {got!r})"
        super().__init__(detail)
