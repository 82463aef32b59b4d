"""The ingestion loop of one transport: receive a batch, store it, dead-letter what is
refused, then acknowledge — in that order, so a crash at any point loses nothing that
was acknowledged (what was not is delivered again and stored once)."""

from __future__ import annotations

import logging
import threading
import time

from api.composition.service import TwinregService
from api.streams.batch import BatchIngester
from api.streams.delivery import Delivery
from api.streams.errors import BrokerError
from api.streams.recalibration import Recalibrator
from api.streams.transport import Transport
from governance.devices.bindings import ActiveBinding
from governance.errors import GovernanceError

_log = logging.getLogger("twinreg.ingest")
RETRY_SECONDS = 1.0


class Ingester:
    def __init__(
        self,
        service: TwinregService,
        transport: Transport,
        recalibrator: Recalibrator | None,
        batch: int = 500,
        wait: float = 0.02,
    ) -> None:
        self._transport = transport
        self._batches = BatchIngester(service, transport.name)
        self.recalibrator = recalibrator
        self._batch = batch
        self._wait = wait
        self.stored = 0
        self.refused = 0

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set (the batch under way is finished first)."""
        retry: list[Delivery] = []
        while not stop.is_set():
            batch = retry or self._transport.receive(self._batch, self._wait)
            if not batch:
                continue
            try:
                outcome = self._batches.process(batch)
            except GovernanceError as exc:  # e.g. the policy files are broken: fail closed
                _log.error("batch of %d not processed, kept for a retry: %s", len(batch), exc)
                retry = batch
                stop.wait(RETRY_SECONDS)
                continue
            self._transport.dead_letter(outcome.refused)
            self._transport.ack(outcome.stored + [d for d, _ in outcome.refused])
            self.stored += outcome.readings
            self.refused += len(outcome.refused)
            retry = outcome.retry
            if retry:
                stop.wait(RETRY_SECONDS)
            if self.recalibrator is not None:
                self.recalibrator.request(
                    [a for a in outcome.fed.values() if isinstance(a, ActiveBinding)]
                )


def run_ingesters(
    service: TwinregService, transports: list[Transport], stop: threading.Event
) -> None:
    """Each transport's loop in a thread, one recalibrator for all, until ``stop``."""
    settings = service.settings.streams
    recalibrator = Recalibrator(service)
    for transport in transports:
        transport.start()  # BrokerError: nothing started is left running
    threads = []
    for transport in transports:
        ingester = Ingester(service, transport, recalibrator, settings.batch,
                            settings.wait_ms / 1000.0)  # fmt: skip
        thread = threading.Thread(target=_guarded, args=(ingester, stop),
                                  name=f"ingest-{transport.name}")  # fmt: skip
        threads.append(thread)
        thread.start()
    recalibrator.start(stop)
    _log.info("ready: %s", ", ".join(t.name for t in transports))
    try:
        while not stop.is_set() and all(t.is_alive() for t in threads):
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        recalibrator.join()
        for transport in transports:
            transport.stop()


def _guarded(ingester: Ingester, stop: threading.Event) -> None:
    try:
        ingester.run(stop)
    except BrokerError as exc:
        _log.error("ingestion stopped: %s", exc)
        stop.set()
