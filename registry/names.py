"""Shapes of the identifiers the registry accepts; checked before any MLflow call."""

from __future__ import annotations

import re

from registry.errors import InvalidIdentifier

MODEL_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
VERSION = re.compile(r"[0-9]{1,9}")
RUN_ID = re.compile(r"[0-9a-f]{32}")
SHA256 = re.compile(r"[0-9a-f]{64}")
REGISTRANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")


def _check(pattern: re.Pattern[str], value: object, what: str) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise InvalidIdentifier(f"invalid {what}: must match ^{pattern.pattern}$")
    return value


def model_name(value: object) -> str:
    """A registered model name: lower-case letters, digits and dashes, 1-63 characters."""
    return _check(MODEL_NAME, value, "model name")


def version(value: object) -> str:
    """A model version: 1-9 decimal digits (MLflow versions are positive integers)."""
    checked = _check(VERSION, value, "version")
    if int(checked) < 1:
        raise InvalidIdentifier("invalid version: versions start at 1")
    return str(int(checked))


def run_id(value: object) -> str:
    """An MLflow run id: 32 lower-case hex digits."""
    return _check(RUN_ID, value, "run id")


def sha256(value: object) -> str:
    """A SHA-256 hex digest (lower case)."""
    return _check(SHA256, value, "SHA-256 digest")


def registrant(value: object) -> str:
    """Who registers a version (a user id): letters, digits and ``._@-``."""
    return _check(REGISTRANT, value, "registrant")
