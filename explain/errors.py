"""Errors of the ``explain`` package.

ExplainError
 +-- UnsupportedKind        no explainer exists for this twin kind or model variant
 +-- ModelMismatchError     the model object, feature names or background do not fit
 |                          the declared kind
 +-- InvalidRowError        the row to explain has the wrong shape or non-finite values
 +-- UnfaithfulExplanation  base value + sum of contributions does not reproduce the
                            model's output within tolerance (the result must be withheld)
"""


class ExplainError(Exception):
    """Base of every error raised by :mod:`explain`."""


class UnsupportedKind(ExplainError):
    """No explainer is registered for this twin kind (or this variant of the model)."""


class ModelMismatchError(ExplainError):
    """The model, its feature names or the background data do not fit the declared kind."""


class InvalidRowError(ExplainError):
    """The row to explain has the wrong shape or contains non-finite values."""


class UnfaithfulExplanation(ExplainError):
    """An attribution does not add up to the model's own output within tolerance."""
