"""Errors of :mod:`models.calibration`.

ModelsError
 +-- GlucoseDataError (also a ValueError)   the person's glucose data cannot be used:
                                            something is missing (no CGM, no basal rate at
                                            the start, no meal) or invalid
 +-- RadiotherapyDataError (also a ValueError)  the tumour's course cannot be used: no
                                            fraction, too few volumes, a volume of 0,
                                            two fractions at one instant
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


class RadiotherapyDataError(ModelsError, ValueError):
    """The radiotherapy course cannot be used; ``field`` names the observation kind (or
    ``scenario``) and ``problem`` says why (``"missing"``, ``"contradictory"`` or
    ``"invalid"``), as :class:`models.dosing.errors.DosingDataError` does."""

    def __init__(self, field: str, problem: str, detail: str) -> None:
        self.field = field
        self.problem = problem
        self.detail = detail
        super().__init__(f"{field}: {problem}: {detail}")
