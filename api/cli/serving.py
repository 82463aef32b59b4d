"""How ``twinreg serve`` runs uvicorn: the lines it logs and how long a worker may take.

With ``--workers N`` uvicorn's supervisor pings each worker over a pipe and replaces one
that does not answer within ``timeout_worker_healthcheck`` seconds. A worker answers only
once Python has started and imported the command line's module (``multiprocessing``
re-imports ``__main__`` in every worker): :mod:`api.cli.main` keeps that import light, and
the timeout is generous (:data:`WORKER_HEALTHCHECK_SECONDS`), so that a busy machine slows
the start of a worker but never makes the supervisor kill and restart it over and over.

The log shows uvicorn's lines from INFO: each worker's start (``Started server process
[pid]``, ``Application startup complete.``), and a worker that died or was killed as
unresponsive (``Child process [pid] died``), raised to WARNING here so that it stands out.
No access log: every decision is in the audit log.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG

#: Seconds a worker may take to answer the supervisor's ping (uvicorn's default: 5).
WORKER_HEALTHCHECK_SECONDS = 30


class WorkerRestarts(logging.Filter):
    """Raises the supervisor's ``Child process [pid] died`` (INFO in uvicorn) to WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            message = record.getMessage()
            if message.startswith("Child process [") and message.endswith("died"):
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration, with :class:`WorkerRestarts` on its error logger."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"worker_restarts": {"()": f"{__name__}.WorkerRestarts"}}
    config["loggers"]["uvicorn.error"]["filters"] = ["worker_restarts"]
    return config
