"""Devices: which patient (and twin) a device's readings belong to, bound and unbound by
a clinician, every change audited with the change.

Imports lower rooms only (twins' keys, identity, audit, store); what a reading is and
how it is ingested is the stream adapter's (:mod:`api.streams`) and the twins service's.
"""
