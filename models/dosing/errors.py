"""Errors of :mod:`models.dosing`.

ModelsError
 +-- DosingDataError (also a ValueError)   the patient's data cannot be used: something is
                                           missing (no level, no dose before a level, no
                                           covariate in force) or contradictory (a level
                                           above 0 before any dose, a non-finite value)
 +-- CalibrationFailed                     a forecast or recommendation was asked of a
                                           calibration whose fit did not converge
"""

from __future__ import annotations

from models.errors import ModelsError


class DosingDataError(ModelsError, ValueError):
    """The patient's dosing data cannot be used; ``field`` names what and ``problem`` why.

    ``problem`` is ``"missing"`` or ``"contradictory"`` (or ``"invalid"`` for a value out of
    its range), so an API layer can build a problem-details body without parsing text.
    """

    def __init__(self, field: str, problem: str, detail: str) -> None:
        self.field = field
        self.problem = problem
        self.detail = detail
        super().__init__(f"{field}: {problem}: {detail}")


class CalibrationFailed(ModelsError):
    """The calibration did not converge: it has no estimate to forecast or dose from."""
