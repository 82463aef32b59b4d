"""Errors of :mod:`models.calibration`.

ModelsError
 +-- GlucoseDataError (also a ValueError)   the person's glucose data cannot be used:
                                            something is missing (no CGM, no basal rate at
                                            the start, no meal) or invalid
 +-- WindkesselDataError (also a ValueError) the blood pressures cannot be used: none, no
                                            heart rate in force at a reading, systolic
                                            not above diastolic, a heart rate out of range
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


class WindkesselDataError(ModelsError, ValueError):
    """The blood-pressure data cannot be used; ``field`` names what and ``problem`` why
    (``"missing"``, ``"contradictory"`` or ``"invalid"``), as
    :class:`models.dosing.errors.DosingDataError` does."""

    def __init__(self, field: str, problem: str, detail: str) -> None:
        self.field = field
        self.problem = problem
        self.detail = detail
        super().__init__(f"{field}: {problem}: {detail}")
