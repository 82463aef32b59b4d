"""The one place that imports MLflow: a quiet client and the error translation.

MLflow's usage telemetry is switched off (unless the operator set the variable) before
MLflow is imported: a clinical registry does not phone home. An HTTP tracking server that
does not answer fails within seconds rather than minutes (fewer retries, shorter timeout;
again only where the operator has not set the variables). Alembic's migration logs on the
first use of a SQLite store are silenced.

Not configurable from here: a SQL backend that refuses connections is retried by MLflow
itself ten times with exponential back-off (about 100 s) before the error surfaces.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from registry.errors import ModelNotFound, RegistryError, RegistryUnavailable

for _name in ("alembic", "alembic.runtime.migration", "mlflow.store.db.utils"):
    logging.getLogger(_name).setLevel(logging.WARNING)

NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"})
EXISTS_CODES = frozenset({"RESOURCE_ALREADY_EXISTS"})

__all__ = ["EXISTS_CODES", "MlflowClient", "MlflowException", "error_code", "translated"]


def error_code(exc: MlflowException) -> str:
    return str(getattr(exc, "error_code", ""))


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Map MLflow and store failures onto :class:`RegistryError` subclasses."""
    try:
        yield
    except RegistryError:
        raise
    except MlflowException as exc:
        if error_code(exc) in NOT_FOUND_CODES:
            raise ModelNotFound(f"{what}: not found") from exc
        raise RegistryUnavailable(f"{what}: tracking store failed ({error_code(exc)})") from exc
    except Exception as exc:
        raise RegistryUnavailable(f"{what}: tracking store unreachable ({exc!r})") from exc
