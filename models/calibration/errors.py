"""Errors of :mod:`models.calibration`.

ModelsError
 +-- GlucoseDataError (also a ValueError)   the person's glucose data cannot be used:
                                            something is missing (no CGM, no basal rate at
                                            the start, no meal) or invalid
"""

from __future__ import annotations

from models.errors import ModelsError


class GlucoseDataError(ModelsError, ValueError):
    """The glucose data cannot be used; ``field`` names what and ``problem`` why
    (``"missing"``, ``"contradictory"`` or ``"invalid"``), as
    :class:`models.dosing.errors.DosingDataError` does."""

    def __init__(self, field: str, problem: str, detail: str) -> None:
        self.field = field
        self.problem = problem
        self.detail = detail
        super().__init__(f"{field}: {problem}: {detail}")
