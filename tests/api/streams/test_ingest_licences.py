"""The ingestion process (``twinreg ingest``) imports no GPL module either: what it runs,
imported in a fresh interpreter, mapped to the distributions that installed it."""

from __future__ import annotations

from pathlib import Path

from tests.api.http.test_app_licences import LGPL_DECIDED, _loaded_distributions
from tools.licences import copyleft_of, licence_of

INGEST = ["api.cli.main", "api.cli.ingest", "api.streams.ingester", "api.streams.mqtt",
          "api.streams.nats_stream"]  # fmt: skip


def test_the_ingester_imports_no_gpl_distribution(tmp_path: Path) -> None:
    loaded = _loaded_distributions(INGEST, tmp_path / "home")
    assert {"paho-mqtt", "nats-py", "sqlalchemy"} <= set(loaded)  # the mapping found its parts
    families = {name: copyleft_of(dist) for name, dist in loaded.items() if name != "twinreg"}
    gpl = sorted(name for name, family in families.items() if family in ("GPL", "AGPL"))
    assert gpl == [], f"the ingester loads GPL code: {gpl}"
    lgpl = {name for name, family in families.items() if family == "LGPL"}
    assert lgpl <= LGPL_DECIDED, f"LGPL distributions nobody decided about: {lgpl - LGPL_DECIDED}"
    assert all(licence_of(loaded[n]) for n in families)
