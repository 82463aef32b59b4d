"""``twinreg ingest``: the device-stream ingestion process (api.streams)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click

from api.cli.common import HOME_HELP, _fail, _service
from api.streams.errors import BrokerError


@click.command()
@click.option("--home", default=None, help=HOME_HELP)
@click.option(
    "--transport",
    "transports",
    multiple=True,
    type=click.Choice(["mqtt", "nats"]),
    default=("mqtt",),
    show_default=True,
    help="Which broker to read (repeat for both).",
)
def ingest(home: str | None, transports: tuple[str, ...]) -> None:
    """Ingest device readings from MQTT and/or NATS JetStream until SIGTERM or Ctrl-C.

    Readings go to the patient each device is bound to (POST /v1/devices/{id}/binding),
    stored idempotently under consent, one audit record per batch, acknowledged after
    the commit; refused messages go to the dead-letter topic with the reason. Brokers and
    topics: TWINREG_MQTT_URL, TWINREG_NATS_URL, TWINREG_STREAM_PREFIX (see the README)."""
    from api.streams.ingester import run_ingesters
    from api.streams.mqtt import MqttTransport
    from api.streams.nats_stream import NatsTransport
    from api.streams.transport import Transport

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    service = _service(home)
    settings = service.settings.streams
    chosen: list[Transport] = [
        MqttTransport(settings) if name == "mqtt" else NatsTransport(settings)
        for name in dict.fromkeys(transports)
    ]
    stop = threading.Event()

    def _stop(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"twinreg ingest: {', '.join(t.name for t in chosen)} "
               f"(prefix {settings.prefix!r})", err=True)  # fmt: skip
    try:
        run_ingesters(service, chosen, stop)
    except BrokerError as exc:
        _fail(str(exc))
