"""Shared fixtures: a demo registry trained once per session, copied per test.

The template home holds the MLflow store (SQLite + local artifacts) and a governance
database in which the four demo twins are registered, bias-audited and approved. Each
test gets its own copy of the governance database and secrets (made with SQLite's backup
API), sharing the read-only MLflow store.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.demo import CLINICIAN, DATA_SCIENTIST, SITE, VALIDATOR, _govern
from api.service import TwinregService
from api.settings import Settings
from api.tokens import issue_token
from models.demo_twins import DemoTwin, train_demo_twins

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def demo_twins() -> list[DemoTwin]:
    return train_demo_twins()


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory, demo_twins: list[DemoTwin]) -> Settings:
    home = tmp_path_factory.mktemp("template-home")
    settings = Settings.load(home, environ={})
    service = TwinregService(settings)
    for twin in demo_twins:
        _govern(service, twin)
    service.engine.dispose()
    return settings


def _copy_sqlite(src: str, dst: Path) -> None:
    source = sqlite3.connect(src)
    target = sqlite3.connect(dst)
    with target:
        source.backup(target)
    source.close()
    target.close()


@pytest.fixture()
def settings(template_home: Settings, tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(template_home.secrets_file, home / "secrets.json")
    _copy_sqlite(str(template_home.home / "governance.db"), home / "governance.db")
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    return Settings(
        home=home,
        governance_url=f"sqlite:///{home / 'governance.db'}",
        tracking_uri=template_home.tracking_uri,
        artifact_root=template_home.artifact_root,
        policies_dir=policies,
        max_body_bytes=64 * 1024,
    )


@pytest.fixture()
def service(settings: Settings) -> Iterator[TwinregService]:
    svc = TwinregService(settings)
    yield svc
    svc.engine.dispose()


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    service: TwinregService

    def token(self, user: str, role: str, site: str | None = None) -> str:
        return issue_token(self.service.token_key, user, role, site, 3600)

    def headers(self, user: str, role: str, site: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user, role, site)}"}

    @property
    def clinician(self) -> dict[str, str]:
        return self.headers(CLINICIAN.user, "clinician", SITE)

    @property
    def validator(self) -> dict[str, str]:
        return self.headers(VALIDATOR.user, "validator")

    @property
    def data_scientist(self) -> dict[str, str]:
        return self.headers(DATA_SCIENTIST.user, "data_scientist")

    @property
    def ethics(self) -> dict[str, str]:
        return self.headers("erin", "ethics_board")

    @property
    def admin(self) -> dict[str, str]:
        return self.headers("ada", "admin")


@pytest.fixture()
def api(service: TwinregService) -> Iterator[Api]:
    with TestClient(app=create_app(service=service)) as client:
        yield Api(client, service)
