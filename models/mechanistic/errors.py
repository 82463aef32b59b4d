"""Errors of :mod:`models.mechanistic`.

ModelsError
 +-- MechanisticInputError (also a ValueError)  an input to a mechanistic twin is outside
                                                its allowed range; the message names the
                                                field and the range
"""

from __future__ import annotations

from models.errors import ModelsError


class MechanisticInputError(ModelsError, ValueError):
    """An input (covariate, regimen, horizon, step count) is outside its allowed range.

    ``field`` names the offending input and ``allowed`` describes the allowed range, so an
    API layer can turn the error into a problem-details body without parsing the message.
    """

    def __init__(self, field: str, allowed: str, got: object = None) -> None:
        self.field = field
        self.allowed = allowed
        self.got = got
        detail = f"{field} must be {allowed}"
        if got is not None:
            detail += f" (got {got!r})"
        super().__init__(detail)
