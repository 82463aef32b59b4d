"""Device bindings in the governance store: one active binding per device (also under a
race: the unique constraint), the patient's id sealed under their key (unreadable once
they are erased), the recalibration's pending count from what is stored."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from governance.devices.bindings import ActiveBinding, device_id
from governance.errors import Conflict, InvalidInput, PatientErased
from governance.identity.principal import Principal

CLINICIAN = Principal("cleo", "clinician", "st-mary")


def _bind(service: Any, device: str, patient: str = "p-1") -> Any:
    key = service.pseudonymiser.site_patient_key("st-mary", patient)
    return service.devices.bindings.bind(CLINICIAN, device, "st-mary", (key, patient), None, {})


def test_one_active_binding_per_device_and_the_patient_id_sealed(service: Any) -> None:
    first = _bind(service, "cgm-1")
    with pytest.raises(Conflict, match="unbind it first"):
        _bind(service, "cgm-1", "p-2")
    with service.engine.begin() as conn:  # past the check: the constraint still holds
        row = conn.execute(text("SELECT * FROM device_binding")).mappings().one()
        assert "p-1" not in str(dict(row))
        with pytest.raises(Exception, match=r"UNIQUE|unique|duplicate"):
            conn.execute(
                text(
                    "INSERT INTO device_binding (id, device_id, site, patient_key, "
                    "patient_ref, active, bound_by, bound_at, audit_id) VALUES "
                    "('x', 'cgm-1', 's', 'k', 'r', 1, 'u', '2026-01-01', 'a')"
                )
            )
    (opened,) = service.devices.active({"cgm-1", "cgm-2"}).values()
    assert isinstance(opened, ActiveBinding) and opened.patient_id == "p-1"
    service.devices.bindings.unbind(CLINICIAN, "cgm-1", "st-mary", {})
    assert service.devices.active({"cgm-1"}) == {}
    again = _bind(service, "cgm-1", "p-2")
    assert again.id != first.id


def test_an_erased_patients_binding_cannot_be_opened(service: Any) -> None:
    binding = _bind(service, "cgm-1")
    with service.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE patient_data_key SET wrapped = NULL, erased_at = "
                "'2026-01-01' WHERE patient_key = :k"
            ),
            {"k": binding.patient_key},
        )
    assert isinstance(service.devices.active({"cgm-1"})["cgm-1"], PatientErased)


@pytest.mark.parametrize("bad", ["", "CGM", "a/b", "a.b", "a+", "#", "x" * 49, 7, None])
def test_device_ids_are_one_topic_level_and_one_subject_token(bad: object) -> None:
    with pytest.raises(InvalidInput, match="device id"):
        device_id(bad)
