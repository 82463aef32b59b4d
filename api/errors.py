"""Errors of the ``api`` package.

ApiError
 +-- Unauthorized   no, expired, forged or unknown-role bearer token (401)
 +-- BadRequest     the request body is structurally wrong (422); ``field`` names it
 +-- ConfigError    the settings or the home folder are unusable
 +-- TrialRunFailed an in-silico trial's chunks could not be run (Ray did not start, a
                    worker died); the finished chunks stay with the caller
"""


class ApiError(Exception):
    """Base of every error raised by :mod:`api`."""


class Unauthorized(ApiError):
    """The caller is not authenticated."""


class BadRequest(ApiError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConfigError(ApiError):
    """The configuration or the home folder cannot be used."""


class TrialRunFailed(ApiError):
    """A trial run stopped on an engine failure; the message says what failed."""
