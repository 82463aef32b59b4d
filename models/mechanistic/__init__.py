"""Mechanistic twins: physiology ODEs compiled with numba (pure computation).

Each kernel has a single-patient ``@njit(cache=True)`` integrator (fixed-step RK4 with
steps aligned to events) and a ``prange`` batch entry point; each twin class maps
covariates and regimen inputs to named outputs with ``predict_outputs(X, output)``.

- :class:`VancomycinTwin` (two-compartment PK): ``auc24``, ``peak``, ``trough``.
- :class:`WindkesselTwin` (three-element Windkessel): ``systolic``, ``diastolic``, ``map``.
- :class:`RadiotherapyTwin` (growth + LQ kill): ``volume_day_180``, ``time_to_progression``.
- :class:`MechanisticInputError` — an input outside its allowed range (names the field).
"""

from models.mechanistic.errors import MechanisticInputError
from models.mechanistic.pk import DosingRegimen, VancomycinTwin, simulate_two_compartment
from models.mechanistic.radiotherapy import RadiotherapyTwin, simulate_tumour, weekday_schedule
from models.mechanistic.windkessel import WindkesselTwin

__all__ = [
    "DosingRegimen",
    "MechanisticInputError",
    "RadiotherapyTwin",
    "VancomycinTwin",
    "WindkesselTwin",
    "simulate_tumour",
    "simulate_two_compartment",
    "weekday_schedule",
]
