"""The streams' settings: local defaults, the environment's values, refusals naming the
variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.composition.settings import Settings, StreamSettings
from api.errors import ConfigError


def test_defaults_are_the_local_brokers(tmp_path: Path) -> None:
    streams = Settings.load(tmp_path, environ={}).streams
    assert streams == StreamSettings()
    assert streams.mqtt_url == "mqtt://127.0.0.1:1883" and streams.nats_url.endswith(":4222")
    assert streams.mqtt_client_id == "twinreg-ingester" and streams.batch == 500


def test_the_environment_sets_them(tmp_path: Path) -> None:
    env = {"TWINREG_STREAM_PREFIX": "ward-7", "TWINREG_MQTT_URL": "mqtts://broker:8883",
           "TWINREG_MQTT_USERNAME": "ingester", "TWINREG_MQTT_PASSWORD_FILE": "pw",
           "TWINREG_INGEST_BATCH": "200", "TWINREG_INGEST_WAIT_MS": "5"}  # fmt: skip
    streams = StreamSettings.load(env)
    assert (streams.prefix, streams.mqtt_url, streams.batch, streams.wait_ms) == (
        "ward-7", "mqtts://broker:8883", 200, 5)  # fmt: skip
    assert streams.mqtt_password_file == Path("pw").resolve()


@pytest.mark.parametrize(
    "variable,value",
    [
        ("TWINREG_STREAM_PREFIX", "a/b"),
        ("TWINREG_STREAM_PREFIX", "A.B"),
        ("TWINREG_MQTT_URL", "http://x"),
        ("TWINREG_NATS_URL", "mqtt://x"),
        ("TWINREG_INGEST_BATCH", "501"),
        ("TWINREG_INGEST_BATCH", "0"),
        ("TWINREG_INGEST_WAIT_MS", "soon"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        StreamSettings.load({variable: value})
