"""Shared fixtures: a demo registry trained once per session, copied per test.

The template home holds the MLflow store and a governance database in which the four
statistical demo twins, the IWPC warfarin twin and the four mechanistic twins are
registered, bias-audited, validated (a passing dossier) and approved.
Each test gets its own copy of the governance database and secrets, sharing the MLflow
store.

``TWINREG_TEST_BACKEND=postgresql`` runs the same tests on the scale path: the governance
database and the MLflow backend store live in PostgreSQL (``TWINREG_TEST_PG_URL``), and
each test's governance database is a ``CREATE DATABASE ... TEMPLATE`` copy.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from api.cli.demo import CLINICIAN, DATA_SCIENTIST, SITE, VALIDATOR, _govern
from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.composition.tokens import issue_token
from api.http.app import create_app
from models.demo_twins import DemoTwin, train_demo_twins
from models.mechanistic_demo import train_mechanistic_twins
from models.warfarin.demo import warfarin_twin

REPO = Path(__file__).resolve().parent.parent
BACKEND = os.environ.get("TWINREG_TEST_BACKEND", "sqlite")
#: In CI (``CI`` set, and not to "false" or "0", the same rule as ``.ci/test``) a service
#: or tool a test needs must be there: its absence fails the test instead of skipping it.
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false")
PG_SERVER = os.environ.get(
    "TWINREG_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_RUN = uuid.uuid4().hex[:8]


def _pg_admin() -> psycopg.Connection[Any]:
    return psycopg.connect(PG_SERVER.replace("+psycopg", ""), autocommit=True)


def _pg_url(database: str) -> str:
    return PG_SERVER.rsplit("/", 1)[0] + "/" + database


def _pg_create(database: str, template: str | None = None) -> str:
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{database}"{suffix}')
    return _pg_url(database)


def _pg_drop(database: str) -> None:
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(scope="session")
def demo_twins() -> list[DemoTwin]:
    return train_demo_twins()


@pytest.fixture(scope="session")
def mechanistic_twins() -> list[DemoTwin]:
    return train_mechanistic_twins()


@pytest.fixture(scope="session")
def warfarin() -> DemoTwin:
    """The IWPC warfarin dosing twin (published coefficients, simulated evaluation set)."""
    return warfarin_twin()


@pytest.fixture(scope="session")
def template_home(
    tmp_path_factory: pytest.TempPathFactory,
    demo_twins: list[DemoTwin],
    warfarin: DemoTwin,
    mechanistic_twins: list[DemoTwin],
) -> Iterator[Settings]:
    home = tmp_path_factory.mktemp("template-home")
    environ: dict[str, str] = {}
    if BACKEND == "postgresql":
        environ = {
            "TWINREG_GOVERNANCE_URL": _pg_create(f"twinreg_tpl_gov_{_RUN}"),
            "TWINREG_TRACKING_URI": _pg_create(f"twinreg_tpl_mlflow_{_RUN}"),
        }
    settings = Settings.load(home, environ=environ)
    service = TwinregService(settings)
    for twin in [*demo_twins, warfarin, *mechanistic_twins]:
        _govern(service, twin)
    service.engine.dispose()
    yield settings
    if BACKEND == "postgresql":
        _pg_drop(f"twinreg_tpl_gov_{_RUN}")
        _pg_drop(f"twinreg_tpl_mlflow_{_RUN}")


def _copy_sqlite(src: str, dst: Path) -> None:
    source = sqlite3.connect(src)
    target = sqlite3.connect(dst)
    with target:
        source.backup(target)
    source.close()
    target.close()


@pytest.fixture()
def settings(template_home: Settings, tmp_path: Path) -> Iterator[Settings]:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)  # twinreg refuses a home that others may read
    shutil.copy(template_home.secrets_file, home / "secrets.json")
    database = None
    if BACKEND == "postgresql":
        database = f"twinreg_t_{_RUN}_{uuid.uuid4().hex[:8]}"
        url = _pg_create(database, template=f"twinreg_tpl_gov_{_RUN}")
    else:
        (home / "governance.db").touch(mode=0o600)
        _copy_sqlite(str(template_home.home / "governance.db"), home / "governance.db")
        url = f"sqlite:///{home / 'governance.db'}"
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    yield Settings(
        home=home,
        governance_url=url,
        tracking_uri=template_home.tracking_uri,
        artifact_root=template_home.artifact_root,
        policies_dir=policies,
        max_body_bytes=64 * 1024,
    )
    if database is not None:
        _pg_drop(database)


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

    @property
    def researcher(self) -> dict[str, str]:
        """A researcher of the demo's site (who may also draw cohorts of its patients)."""
        return self.headers("rita", "researcher", SITE)


@pytest.fixture()
def api(service: TwinregService) -> Iterator[Api]:
    with TestClient(app=create_app(service=service)) as client:
        yield Api(client, service)
