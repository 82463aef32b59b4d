"""Errors of :mod:`models.mechanistic`.

ModelsError
 +-- FieldInputError (also a ValueError)
      +-- MechanisticInputError  an input to a mechanistic twin is outside its allowed
                                 range; the message names the field and the range
"""

from __future__ import annotations

from models.errors import FieldInputError


class MechanisticInputError(FieldInputError):
    """An input (covariate, regimen, horizon, step count) is outside its allowed range;
    ``field`` names it and ``allowed`` the range (:class:`models.errors.FieldInputError`)."""
