"""The build environment a twin version was trained and stored in.

:func:`build_environment` is recorded next to every artifact; comparing it with the
environment at load time tells a validator when a version runs under other library
versions or other ``models`` code than it was built with.
"""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path

#: Distributions whose versions change what a stored twin computes (not scikit-survival:
#: the Cox twin is fitted by our own code, and the server does not install it).
TRACKED_DISTRIBUTIONS: tuple[str, ...] = (
    "numpy",
    "scikit-learn",
    "xgboost",
    "shap",
    "skops",
)

SOURCE_DIGEST_KEY = "models_source_sha256"


def models_source_digest() -> str:
    """SHA-256 over the relative paths and contents of the ``models`` package's sources."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        digest.update(relative.encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def build_environment() -> dict[str, str]:
    """Python version, tracked library versions and the ``models`` source digest."""
    environment = {"python": platform.python_version()}
    for name in TRACKED_DISTRIBUTIONS:
        try:
            environment[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            environment[name] = "not installed"
    environment[SOURCE_DIGEST_KEY] = models_source_digest()
    return environment


def environment_differences(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    """Human-readable differences between a recorded and the current environment."""
    notes: list[str] = []
    for key in sorted(set(recorded) | set(current)):
        then, now = recorded.get(key), current.get(key)
        if then == now:
            continue
        if key == SOURCE_DIGEST_KEY:
            notes.append("models package source differs from the one the version was built with")
        else:
            notes.append(f"{key}: built with {then or 'unknown'}, running {now or 'unknown'}")
    return notes
