"""Device readings over MQTT (paho-mqtt 2): MQTT 5 with a fixed client id, a persistent
session (clean start off, a session expiry) and QoS 1, acknowledged by hand: the PUBACK
of a message is sent only after its batch committed (or its dead letter was accepted).
A message not acknowledged when the ingester stops or dies is delivered again by the
broker on the next connection; storage is idempotent, so it is stored once.

``receive_maximum`` lets the broker have that many messages unacknowledged with us (MQTT
5; Mosquitto's ``max_inflight_messages``, 20 by default, caps MQTT 3.1.1 sessions only).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from api.composition.settings import StreamSettings
from api.streams.dead_letters import dead_letter
from api.streams.delivery import Delivery
from api.streams.errors import BrokerError, Refused
from api.streams.topics import Topics
from api.streams.transport import password

_log = logging.getLogger("twinreg.ingest.mqtt")
#: How long the broker keeps the ingester's session (and queues its messages) while it
#: is away: a week.
SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
PUBLISH_TIMEOUT_SECONDS = 10.0


class MqttTransport:
    name = "mqtt"

    def __init__(self, settings: StreamSettings, receive_maximum: int = 1000) -> None:
        self._settings = settings
        self._topics = Topics(settings.prefix)
        self._receive_maximum = receive_maximum
        self._queue: queue.Queue[Delivery] = queue.Queue()
        self._connected = threading.Event()
        #: Set once the broker granted the readings' subscription (SUBACK): only then
        #: is the ingester ready (a reading published before it would be lost).
        self._subscribed = threading.Event()
        self._refusal: str | None = None
        #: Counts connections: a message's handle carries the one it came on; a PUBACK
        #: for an earlier connection's message is not sent (the broker sends it again).
        self._generation = 0
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._settings.mqtt_client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.max_inflight_messages_set(1000)  # our dead letters in flight at once
        client.reconnect_delay_set(1, 30)
        if self._settings.mqtt_username:
            secret = password(self._settings.mqtt_password_file)
            client.username_pw_set(self._settings.mqtt_username, secret)
        if self._settings.mqtt_url.startswith("mqtts://"):
            client.tls_set()  # the system's CA store; the broker's name is checked
        return client

    def start(self) -> None:
        url = urlsplit(self._settings.mqtt_url)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        properties.ReceiveMaximum = self._receive_maximum
        try:
            self._client.connect(
                url.hostname or "127.0.0.1", url.port or 1883, keepalive=30,
                clean_start=False, properties=properties,
            )  # fmt: skip
        except OSError as exc:
            raise BrokerError(f"MQTT broker {self._where()} is unreachable: {exc}") from exc
        self._client.loop_start()
        ready = self._connected.wait(10.0) and self._subscribed.wait(10.0)
        if not ready or self._refusal:
            self._client.loop_stop()
            raise BrokerError(f"MQTT broker {self._where()} refused the ingester: "
                              f"{self._refusal or 'no answer in 10 s'}")  # fmt: skip

    def _where(self) -> str:
        url = urlsplit(self._settings.mqtt_url)
        return f"{url.hostname}:{url.port}"  # never the credentials

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self._refusal = str(reason)
            self._connected.set()
            self._subscribed.set()
            return
        self._generation += 1
        client.subscribe(self._topics.mqtt_readings, qos=1)
        _log.info("connected to %s (session present: %s)", self._where(), _f.session_present)
        self._connected.set()

    def _on_subscribe(self, _c: Any, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            self._refusal = f"the subscription to readings was refused: {', '.join(refused)}"
            self._connected.set()
        self._subscribed.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        _log.warning("disconnected from %s: %s (reconnecting)", self._where(), reason)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        device = self._topics.mqtt_device(message.topic)
        handle = (self._generation, message.mid, message.qos)
        self._queue.put(Delivery(device, bytes(message.payload), time.time(), handle))

    def receive(self, limit: int, wait: float) -> list[Delivery]:
        try:
            batch = [self._queue.get(timeout=1.0)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + wait
        while len(batch) < limit:
            left = deadline - time.monotonic()
            try:
                batch.append(self._queue.get_nowait() if left <= 0 else
                             self._queue.get(timeout=left))  # fmt: skip
            except queue.Empty:
                break
        return batch

    def dead_letter(self, refused: Sequence[tuple[Delivery, Refused]]) -> None:
        sent = [
            self._client.publish(
                self._topics.mqtt_dead_letter(d.device), dead_letter(d, r, self.name), qos=1
            )
            for d, r in refused
        ]
        for info in sent:
            try:
                info.wait_for_publish(PUBLISH_TIMEOUT_SECONDS)
            except (RuntimeError, ValueError) as exc:
                raise BrokerError(f"a dead letter was not accepted: {exc}") from exc
            if not info.is_published():
                raise BrokerError("a dead letter was not accepted in time")

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        for d in deliveries:
            handle = d.handle
            assert isinstance(handle, tuple)
            generation, mid, qos = (int(x) for x in handle)
            if generation == self._generation and qos > 0:
                self._client.ack(mid, qos)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
