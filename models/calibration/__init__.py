"""Patient calibration of the mechanistic twins beyond dosing: glucose from CGM days.

:func:`models.calibration.glucose.calibrate_glucose` fits three named UVA/Padova parameters
(Vmx, kp3, kabs) of one person to their CGM, meals and insulin over days: maximum a
posteriori under a log-normal prior fitted to simglucose's 30-patient cohort
(``glucose_prior.py``), with its Laplace posterior, in the shapes of
:mod:`models.dosing.calibration`.
"""
