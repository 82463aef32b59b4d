"""Errors of the ``explain`` package.

ExplainError
 +-- UnsupportedKind        no explainer exists for this twin kind or model variant
 +-- ModelMismatchError     the model object, feature names or background do not fit
 |                          the declared kind
 +-- InvalidRowError        the row to explain has the wrong shape or non-finite values
"""


class ExplainError(Exception):
    """Base of every error raised by :mod:`explain`."""


class UnsupportedKind(ExplainError):
    """No explainer is registered for this twin kind (or this variant of the model)."""


class ModelMismatchError(ExplainError):
    """The model, its feature names or the background data do not fit the declared kind."""


class InvalidRowError(ExplainError):
    """The row to explain has the wrong shape or contains non-finite values."""
