"""Mechanistic twins: physiology ODEs compiled with numba (pure computation).

Each kernel has a single-patient ``@njit(cache=True)`` integrator (fixed-step RK4 with
steps aligned to events, written once in ``stepper.py``) and a ``prange`` batch entry
point; each twin class maps covariates and regimen inputs to named outputs with
``predict_outputs(X, output)``.

- :class:`VancomycinTwin` (two-compartment PK): ``auc24``, ``peak``, ``trough``.
- :class:`WindkesselTwin` (three-element Windkessel): ``systolic``, ``diastolic``, ``map``.
- :class:`RadiotherapyTwin` (growth + LQ kill): ``volume_day_180``, ``time_to_progression``.
- :class:`GlucoseT1DTwin` (UVA/Padova type 1 diabetes): ``time_in_range``,
  ``time_below_70``, ``time_above_180``, ``mean_glucose``; cohort in
  :func:`virtual_cohort`, any meal/insulin schedule with :func:`simulate_glucose`.
- :func:`warm_up` — compile or load every kernel from numba's on-disk cache.
- :class:`MechanisticInputError` — an input outside its allowed range (names the field).
"""

from models.mechanistic.errors import MechanisticInputError
from models.mechanistic.glucose import (
    GlucoseSchedule,
    GlucoseT1DTwin,
    simulate_glucose,
    virtual_cohort,
)
from models.mechanistic.pk import DosingRegimen, VancomycinTwin, simulate_two_compartment
from models.mechanistic.radiotherapy import RadiotherapyTwin, simulate_tumour, weekday_schedule
from models.mechanistic.warm import warm_up
from models.mechanistic.windkessel import WindkesselTwin

__all__ = [
    "DosingRegimen",
    "GlucoseSchedule",
    "GlucoseT1DTwin",
    "MechanisticInputError",
    "RadiotherapyTwin",
    "VancomycinTwin",
    "WindkesselTwin",
    "simulate_glucose",
    "simulate_tumour",
    "simulate_two_compartment",
    "virtual_cohort",
    "warm_up",
    "weekday_schedule",
]
