"""Device bindings (device streams): a clinician binds a device to a patient of their
site (and optionally one of the patient's twins), and unbinds it. The device's readings
reach the patient only through its active binding (``twinreg ingest``)."""

from __future__ import annotations

from litestar import Controller, delete, post
from litestar.di import Provide
from litestar.types import BeforeRequestHookHandler

from api.composition.service import TwinregService
from api.http.controllers import allow_every_method
from api.http.deps import provide_principal, provide_service
from api.http.device_schemas import BindingIn, BindingOut
from api.http.openapi import errors
from governance.devices.bindings import Binding
from governance.identity.principal import Principal


def _out(b: Binding, audit_id: str) -> BindingOut:
    return BindingOut(
        b.device_id, b.id, b.site, b.twin_id, b.bound_by, b.bound_at.isoformat(), audit_id,
        b.unbound_by, b.unbound_at.isoformat() if b.unbound_at else None,
    )  # fmt: skip


class DeviceController(Controller):
    path = "/v1/devices/{device_id:str}/binding"
    tags = ["devices"]
    before_request: BeforeRequestHookHandler | None = allow_every_method
    dependencies = {"service": Provide(provide_service), "principal": Provide(provide_principal)}

    @post(status_code=201, sync_to_thread=True,
          summary="Bind a device to a patient of your site (and optionally a twin of theirs)",
          responses=errors(400, 403, 404, 409, 413, 422))  # fmt: skip
    def bind(
        self, device_id: str, data: BindingIn, service: TwinregService, principal: Principal
    ) -> BindingOut:
        b = service.devices.bind(principal, device_id, data.patient_id, data.twin_id)
        return _out(b, b.audit_id)

    @delete(status_code=200, sync_to_thread=True, summary="Unbind a device (audited)",
            responses=errors(400, 403, 404, 409, 422))  # fmt: skip
    def unbind(self, device_id: str, service: TwinregService, principal: Principal) -> BindingOut:
        b = service.devices.unbind(principal, device_id)
        assert b.unbound_audit_id is not None
        return _out(b, b.unbound_audit_id)
