"""Device bindings for clinicians, and what the stream ingester asks of them.

A clinician binds a device to a patient of their own site (optionally to one of the
patient's active twins, which the device's readings then recalibrate as
``policies/recalibration.toml`` says) and unbinds it; both audited with the change. The
ingester (:mod:`api.streams`) reads the active bindings and acts for a device as the
principal :func:`device_principal` names: role ``device`` at the binding's site, allowed
by ``policies/rbac_policy.csv`` to add observations and calibrate twins there, nothing
else. No token can carry that role with a site, so nothing reaches it over HTTP.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Engine

from api.composition.twin_kinds import adapter_for
from api.composition.twins import TwinService
from governance.devices.bindings import (
    ActiveBinding,
    Binding,
    DeviceBindings,
    check_twin_id,
    device_id,
)
from governance.devices.pending import pending_readings
from governance.errors import Conflict, Forbidden, InvalidInput, PatientErased
from governance.identity.principal import Principal
from governance.policy.recalibration import Recalibration
from governance.policy.store import PolicyStore
from governance.twins.bank import ACTIVE

DEVICE_ROLE = "device"


def device_principal(binding: Binding) -> Principal:
    """Who acts for a bound device: ``<device>@device``, role ``device``, its site."""
    return Principal(f"{binding.device_id}@device", DEVICE_ROLE, binding.site)


class DeviceService:
    def __init__(
        self,
        engine: Engine,
        twins: TwinService,
        bindings: DeviceBindings,
        policies: PolicyStore,
    ) -> None:
        self._engine = engine
        self._twins = twins
        self.bindings = bindings
        self._policies = policies

    # -- clinicians -----------------------------------------------------------------------
    def _site(self, principal: Principal, act: str) -> str:
        policy = self._policies.current()
        site = principal.site
        if site is None or not policy.allows(principal.role, site, site, "device", act).allowed:
            raise Forbidden(
                f"role {principal.role!r} may not {act} devices: a clinician of the "
                "patient's site does"
            )
        return site

    def bind(
        self, principal: Principal, device: str, patient_id: object, twin_id: object
    ) -> Binding:
        """Bind ``device`` to the patient ``patient_id`` of the caller's site (and to
        their active twin ``twin_id``, if given)."""
        site = self._site(principal, "bind")
        device = device_id(device)
        if not isinstance(patient_id, str) or not patient_id:
            raise InvalidInput("patient_id is required", field="patient_id")
        twin = check_twin_id(twin_id)
        key = self._twins.patient(principal, patient_id, "write", None)
        if twin is not None:
            view = self._twins.bank.twin(key, twin)
            if view.status != ACTIVE:
                raise Conflict(f"twin {twin} is {view.status}: no device feeds it")
        audit = {
            "principal": principal.to_audit(),
            "policy_version": self._policies.current().version,
        }
        return self.bindings.bind(principal, device, site, (key, patient_id), twin, audit)

    def unbind(self, principal: Principal, device: str) -> Binding:
        site = self._site(principal, "unbind")
        audit = {
            "principal": principal.to_audit(),
            "policy_version": self._policies.current().version,
        }
        return self.bindings.unbind(principal, device_id(device), site, audit)

    # -- the ingester ---------------------------------------------------------------------
    def active(self, devices: Collection[str]) -> dict[str, ActiveBinding | PatientErased]:
        return self.bindings.active(devices)

    def recalibration_due(self, binding: Binding, now: datetime) -> tuple[bool, int]:
        """Whether the twin ``binding`` feeds is due for recalibration by the policy of
        its kind (and the readings waiting). A kind without a rule: never."""
        assert binding.twin_id is not None
        twin = self._twins.bank.twin(binding.patient_key, binding.twin_id)
        if twin.status != ACTIVE:
            return False, 0
        kind = self._twins.kind_of(twin)
        rule: Recalibration | None = self._policies.current().recalibration.get(kind)
        adapter = adapter_for(kind)
        if rule is None or adapter is None:
            return False, 0
        pending, since = pending_readings(self._engine, twin.id, adapter.used_kinds)
        return rule.due(pending, (now - since).total_seconds() / 60.0), pending
