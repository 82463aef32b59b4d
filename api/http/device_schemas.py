"""Request and response bodies of the device binding routes (device streams)."""

from __future__ import annotations

import msgspec


class BindingIn(msgspec.Struct, forbid_unknown_fields=True):
    #: The patient's id at the caller's site.
    patient_id: str
    #: One of the patient's active twins, which the device's readings then recalibrate
    #: (policies/recalibration.toml); none: readings are stored only.
    twin_id: str | None = None


class BindingOut(msgspec.Struct):
    device_id: str
    binding_id: str
    site: str
    twin_id: str | None
    bound_by: str
    bound_at: str
    #: The audit record of this change (device.bound, or device.unbound).
    audit_id: str
    unbound_by: str | None = None
    unbound_at: str | None = None
