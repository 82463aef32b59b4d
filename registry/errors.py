"""Errors of the ``registry`` package.

RegistryError
 +-- InvalidIdentifier    a model name, version, run id or digest has the wrong shape;
 |                        raised before anything reaches MLflow
 +-- ModelNotFound        no such registered model, version, run or alias
 +-- ArtifactInvalid      the stored artifacts do not have the twin layout, or the card,
 |                        evaluation or model file in them cannot be read safely
 +-- ArtifactTampered     the artifacts' SHA-256 differs from the one governance holds
 +-- RegistryUnavailable  the tracking store or artifact store cannot be reached
"""


class RegistryError(Exception):
    """Base of every error raised by :mod:`registry`."""


class InvalidIdentifier(RegistryError):
    """A name, version, run id or digest is malformed; nothing was sent to MLflow."""


class ModelNotFound(RegistryError):
    """The registered model, version, run or alias does not exist."""


class ArtifactInvalid(RegistryError):
    """The artifacts are missing files, hold unexpected ones, or cannot be read."""


class ArtifactTampered(RegistryError):
    """The artifacts changed since registration: their digest no longer matches."""

    def __init__(self, message: str, *, expected: str, actual: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class RegistryUnavailable(RegistryError):
    """The tracking or artifact store did not answer; callers must fail closed."""
