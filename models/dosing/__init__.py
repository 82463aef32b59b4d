"""Model-informed precision dosing of vancomycin: a patient's twin learns from its levels.

Pure computation (no HTTP, database or observations API; those call these functions):

- :mod:`~models.dosing.prior` — Goti 2018's prior, Cockcroft-Gault with the source's rules.
- :mod:`~models.dosing.history` — the course: infusions, levels, timed covariates; refusals.
- :mod:`~models.dosing.calibration` — MAP etas and the Laplace posterior (:func:`calibrate`).
- :mod:`~models.dosing.forecast` — concentrations and AUC with 90 % prediction intervals.
- :mod:`~models.dosing.recommend` — the regimen grid ranked by probability of target attainment.
- :mod:`~models.dosing.explain` — exact Shapley values and the levels that moved the estimate.
"""
