"""Errors of the ``models`` package.

ModelsError
 +-- CardError        a twin card (metadata) is malformed
 +-- ArtifactFormatError  a model file cannot be written or read in its safe format
 +-- DemoDataUnavailable  the demo data sets' optional package is not installed
 +-- DoseInputError   inputs a dosing algorithm cannot read (a code out of range, no
                      positive dose)
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
