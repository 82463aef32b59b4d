"""The one place that imports MLflow: a quiet client and the error translation.

MLflow is imported on first use (:func:`open_client`), not when :mod:`registry` is: importing it
takes seconds (over twenty on a busy machine), and every process that only needs
:mod:`registry`'s names and errors — the command line, each ``twinreg serve`` worker while
it starts — would pay for it.

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
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from registry.errors import ModelNotFound, RegistryError, RegistryUnavailable

if TYPE_CHECKING:
    from mlflow import MlflowClient

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")

for _name in ("alembic", "alembic.runtime.migration", "mlflow.store.db.utils"):
    logging.getLogger(_name).setLevel(logging.WARNING)

NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"})
EXISTS_CODES = frozenset({"RESOURCE_ALREADY_EXISTS"})

__all__ = ["EXISTS_CODES", "already_exists", "error_code", "open_client", "translated"]


def open_client(tracking_uri: str) -> MlflowClient:
    """An MLflow client for ``tracking_uri`` (MLflow is imported here, the first time)."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def _mlflow_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an ``MlflowException``: none can exist before MLflow is loaded."""
    module = sys.modules.get("mlflow.exceptions")
    return module is not None and isinstance(exc, module.MlflowException)


def error_code(exc: BaseException) -> str:
    return str(getattr(exc, "error_code", "")) if _mlflow_error(exc) else ""


def already_exists(exc: BaseException) -> bool:
    """Whether ``exc`` is MLflow saying that what was to be created exists already."""
    return error_code(exc) in EXISTS_CODES


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Map MLflow and store failures onto :class:`RegistryError` subclasses."""
    try:
        yield
    except RegistryError:
        raise
    except Exception as exc:
        if not _mlflow_error(exc):
            raise RegistryUnavailable(f"{what}: tracking store unreachable ({exc!r})") from exc
        if error_code(exc) in NOT_FOUND_CODES:
            raise ModelNotFound(f"{what}: not found") from exc
        raise RegistryUnavailable(f"{what}: tracking store failed ({error_code(exc)})") from exc
