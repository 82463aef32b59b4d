"""Errors of :mod:`models.calibration`.

ModelsError
 +-- CalibrationDataError (also a ValueError)  a person's data cannot be used for a
      |                                        calibration: ``field`` names what, ``problem`` why
      +-- GlucoseDataError        no CGM, no basal rate at the start, no meal, or invalid
      +-- WindkesselDataError     no blood pressure, no heart rate in force at a reading,
      |                           systolic not above diastolic, a heart rate out of range
      +-- RadiotherapyDataError   no fraction, too few volumes, a volume of 0, two
                                  fractions at one instant
"""

from __future__ import annotations

from models.errors import ModelsError


class CalibrationDataError(ModelsError, ValueError):
    """A person's data cannot be used for a calibration; ``field`` names what and
    ``problem`` why (``"missing"``, ``"contradictory"`` or ``"invalid"``), as
    :class:`models.dosing.errors.DosingDataError` does."""

    def __init__(self, field: str, problem: str, detail: str) -> None:
        self.field = field
        self.problem = problem
        self.detail = detail
        super().__init__(f"{field}: {problem}: {detail}")


class GlucoseDataError(CalibrationDataError):
    """The glucose data cannot be used (no CGM, no basal rate at the start, no meal)."""


class WindkesselDataError(CalibrationDataError):
    """The blood-pressure data cannot be used."""


class RadiotherapyDataError(CalibrationDataError):
    """The radiotherapy course cannot be used; ``field`` names the observation kind (or
    ``scenario``)."""
