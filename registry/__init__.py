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

from typing import TYPE_CHECKING, Any

from registry.errors import (
    ArtifactInvalid,
    ArtifactTampered,
    InvalidIdentifier,
    ModelNotFound,
    RegistryError,
    RegistryUnavailable,
)

if TYPE_CHECKING:
    from registry.hashing import artifact_digest
    from registry.layout import ARTIFACT_PATH, write_twin_layout
    from registry.store import APPROVED_ALIAS, LoadedTwin, RegisteredVersion, TwinRegistry

#: Where each of the other public names lives. They are imported when first asked for:
#: the store pulls in pandas, the model formats and (on first use) MLflow, which a process
#: that only needs the errors above (the command line, a worker starting) need not load.
_LAZY = {
    "APPROVED_ALIAS": "registry.store",
    "LoadedTwin": "registry.store",
    "RegisteredVersion": "registry.store",
    "TwinRegistry": "registry.store",
    "ARTIFACT_PATH": "registry.layout",
    "write_twin_layout": "registry.layout",
    "artifact_digest": "registry.hashing",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'registry' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


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
