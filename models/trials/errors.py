"""Errors of :mod:`models.trials`.

ModelsError
 +-- FieldInputError (also a ValueError)
      +-- TrialInputError  a regimen, cohort prior, patient covariate, target or trial plan
                           cannot be used; ``field`` names what and ``allowed`` what would
                           be accepted
"""

from __future__ import annotations

from models.errors import FieldInputError


class TrialInputError(FieldInputError):
    """An input of an in-silico trial is invalid; the message says what to fix
    (``field``, ``allowed`` and ``got`` as in :class:`models.errors.FieldInputError`)."""
