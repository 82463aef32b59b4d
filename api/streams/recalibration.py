"""Recalibrating device-fed twins when ``policies/recalibration.toml`` says, in a thread
of its own (a calibration takes from milliseconds to seconds; readings keep coming).

After each batch the ingester names the bindings whose patient got readings; a sweep
every :data:`SWEEP_SECONDS` looks at every binding to a twin (the minutes rule, and what
waited while the ingester was down). A due twin is calibrated by
:meth:`~api.composition.twins.TwinService.calibrate` as the device's principal: the
release gate and its audit as for a clinician's. A refused or failed calibration is not
tried again for that twin until its rule is due once more counting from the refusal.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from api.composition.devices import device_principal
from api.composition.service import TwinregService
from governance.devices.bindings import ActiveBinding
from governance.errors import GovernanceError

_log = logging.getLogger("twinreg.ingest.recalibration")
SWEEP_SECONDS = 30.0


class Recalibrator:
    def __init__(self, service: TwinregService) -> None:
        self._service = service
        self._wanted: dict[str, ActiveBinding] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        #: twin -> readings pending when it was last refused (not tried before more come)
        self._refused_at: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        #: twins looked at, and recalibrated (for the bench and the tests)
        self.checked = 0
        self.calibrated = 0

    def request(self, bindings: list[ActiveBinding]) -> None:
        with self._lock:
            for b in bindings:
                if b.binding.twin_id is not None:
                    self._wanted[b.binding.id] = b
        if bindings:
            self._wake.set()

    def start(self, stop: threading.Event) -> None:
        self._thread = threading.Thread(target=self._run, args=(stop,), name="recalibration",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._wake.set()
            self._thread.join(timeout=60)

    def _run(self, stop: threading.Event) -> None:
        next_sweep = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_sweep:
                self._sweep()
                next_sweep = time.monotonic() + SWEEP_SECONDS
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            with self._lock:
                wanted, self._wanted = list(self._wanted.values()), {}
            for active in wanted:
                self._maybe(active)

    def _sweep(self) -> None:
        try:
            bound = self._service.devices.bindings.bound_twins()
            opened = self._service.devices.active({b.device_id for b in bound})
        except GovernanceError as exc:
            _log.warning("recalibration sweep failed: %s", exc)
            return
        self.request([a for a in opened.values() if isinstance(a, ActiveBinding)])

    def _maybe(self, active: ActiveBinding) -> None:
        binding = active.binding
        assert binding.twin_id is not None
        try:
            due, pending = self._service.devices.recalibration_due(binding, datetime.now(UTC))
            self.checked += 1
            refused = self._refused_at.get(binding.twin_id)
            if not due or (refused is not None and pending <= refused):
                return
            self._service.twins.calibrate(
                device_principal(binding), active.patient_id, binding.twin_id
            )
            self._refused_at.pop(binding.twin_id, None)
            self.calibrated += 1
        except GovernanceError as exc:  # refused or failed: audited by the service
            self._refused_at[binding.twin_id] = pending
            _log.warning("twin %s not recalibrated: %s", binding.twin_id, exc)
