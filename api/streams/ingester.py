"""The ingestion loop of one transport: receive a batch, store it, dead-letter what is
refused, then acknowledge — in that order, so a crash at any point loses nothing that
was acknowledged (what was not is delivered again and stored once)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

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


@dataclass
class Running:
    """Ingesters started by :func:`start_ingesters`: a thread per transport, one
    recalibrator."""

    stop: threading.Event
    transports: list[Transport]
    ingesters: list[Ingester]
    threads: list[threading.Thread]
    recalibrator: Recalibrator
    closed: bool = False

    @property
    def stored(self) -> int:
        """Readings stored so far, all transports together."""
        return sum(i.stored for i in self.ingesters)

    def alive(self) -> bool:
        return all(t.is_alive() for t in self.threads)

    def close(self) -> None:
        """Stop (once): each batch under way finished, the recalibration under way too."""
        if self.closed:
            return
        self.closed = True
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
        self.recalibrator.join()
        for transport in self.transports:
            transport.stop()


def start_ingesters(
    service: TwinregService, transports: list[Transport], stop: threading.Event
) -> Running:
    """Each transport connected (:class:`BrokerError` if one is not), its loop in a thread,
    one recalibrator for all; they run until ``stop`` (then :meth:`Running.close`)."""
    settings = service.settings.streams
    recalibrator = Recalibrator(service)
    for transport in transports:
        transport.start()  # BrokerError: nothing started is left running
    running = Running(stop, transports, [], [], recalibrator)
    for transport in transports:
        ingester = Ingester(service, transport, recalibrator, settings.batch,
                            settings.wait_ms / 1000.0)  # fmt: skip
        thread = threading.Thread(target=_guarded, args=(ingester, stop),
                                  name=f"ingest-{transport.name}")  # fmt: skip
        running.ingesters.append(ingester)
        running.threads.append(thread)
        thread.start()
    recalibrator.start(stop)
    _log.info("ready: %s", ", ".join(t.name for t in transports))
    return running


def run_ingesters(
    service: TwinregService, transports: list[Transport], stop: threading.Event
) -> None:
    """:func:`start_ingesters`, until ``stop`` or a loop ends (a broker lost for good)."""
    running = start_ingesters(service, transports, stop)
    try:
        while not stop.is_set() and running.alive():
            time.sleep(0.2)
    finally:
        running.close()


def _guarded(ingester: Ingester, stop: threading.Event) -> None:
    try:
        ingester.run(stop)
    except BrokerError as exc:
        _log.error("ingestion stopped: %s", exc)
        stop.set()
