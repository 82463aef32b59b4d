"""The twin registry: the only package that imports MLflow.

Public names:

- :class:`TwinRegistry` — register a twin version (safe model format, card, evaluation
  set, build environment), mirror the ``approved`` alias, load a version after checking
  its artifact digest, with a per-version cache.
- :class:`RegisteredVersion`, :class:`LoadedTwin` — what registering and loading return.
- :func:`artifact_digest` — the SHA-256 of an artifact directory.
- :func:`write_twin_layout` — write the ``twin/`` layout (model, card, evaluation set,
  environment) into a directory, for runs logged outside :meth:`TwinRegistry.register`
  and registered later with :meth:`TwinRegistry.register_logged_run`.
- :class:`RegistryError` and its subclasses (tree in :mod:`registry.errors`).
"""

from registry.errors import (
    ArtifactInvalid,
    ArtifactTampered,
    InvalidIdentifier,
    ModelNotFound,
    RegistryError,
    RegistryUnavailable,
)
from registry.hashing import artifact_digest
from registry.layout import ARTIFACT_PATH, write_twin_layout
from registry.store import APPROVED_ALIAS, LoadedTwin, RegisteredVersion, TwinRegistry

__all__ = [
    "APPROVED_ALIAS",
    "ARTIFACT_PATH",
    "ArtifactInvalid",
    "ArtifactTampered",
    "InvalidIdentifier",
    "LoadedTwin",
    "ModelNotFound",
    "RegisteredVersion",
    "RegistryError",
    "RegistryUnavailable",
    "TwinRegistry",
    "artifact_digest",
    "write_twin_layout",
]
