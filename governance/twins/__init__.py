"""Patient twins: a patient's instances of approved twin models, fed with the patient's
observations (checked against the kind table of ``policies/``), stored encrypted under a
per-patient data key, calibrated into numbered immutable states, and the thread linking
each observation, state, forecast and recommendation to its audit record.

Imports lower rooms only (consent, identity, audit, policy, store); the release gate and
the dosing mathematics meet it in :mod:`api.composition.twins`.
"""
