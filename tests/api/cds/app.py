"""twinreg with an EHR configured (its issuer file) and that EHR's client, for API tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.http.app import create_app
from tests.api.cds.ehr import BASE, Ehr, issuers_file
from tests.conftest import Api


@contextmanager
def ehr_app(settings: Settings, folder: Path, alg: str = "ES384",
            **issuer: Any) -> Iterator[tuple[Api, Ehr]]:  # fmt: skip
    """An app whose public base URL is :data:`BASE`, trusting one EHR (an ``alg`` key of
    its own, mapped user ``carla`` the demo clinician)."""
    probe = Ehr(client=None, alg=alg)
    path = issuers_file(folder, probe, "st-mary", **issuer)
    configured = dataclasses.replace(settings, public_base_url=BASE, cds_issuers=path)
    service = TwinregService(configured)
    try:
        with TestClient(app=create_app(service=service)) as client:
            probe.client = client
            yield Api(client, service), probe
    finally:
        service.engine.dispose()
