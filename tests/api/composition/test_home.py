"""The home is private to its owner: created 0700 with its files 0600 whatever the umask,
and a home (or anything twinreg keeps) that others may read is refused."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli.main import main
from api.composition.service import TwinregService
from api.composition.settings import Settings
from api.errors import ConfigError
from tests.conftest import REPO


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture()
def permissive_umask() -> Iterator[None]:
    """The usual umask (022): what twinreg creates must be private regardless."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def home_settings(home: Path, **env: str) -> Settings:
    return Settings.load(home, environ={"TWINREG_WARM_UP": "0", **env})


def open_to_others(root: Path) -> list[str]:
    """Everything under ``root`` (itself included) its group or others may access."""
    found = [] if mode(root) & 0o077 == 0 else [f"{root} {mode(root):04o}"]
    for path in root.rglob("*"):
        if mode(path) & 0o077:
            found.append(f"{path} {mode(path):04o}")
    return found


def test_a_new_home_is_private_to_its_owner(tmp_path: Path, permissive_umask: None) -> None:
    settings = home_settings(tmp_path / "new" / "home")
    home = settings.home
    service = TwinregService(settings)
    try:
        for i in range(3):
            service.audit.append("test.record", {"i": i})
        assert service.checkpoints.run_once(final=True) is not None
        service.registry.open()  # the MLflow store and the artifact folder
        kept = {
            "secrets.json",
            "audit-signing-key.pem",
            "audit-checkpoints.jsonl",
            "governance.db",
            "governance.db-wal",  # while a connection is open
            "governance.db-shm",
            "mlflow.db",
        }
        assert kept <= {p.name for p in home.iterdir()}
        assert {name: mode(home / name) for name in kept} == dict.fromkeys(kept, 0o600)
    finally:
        service.engine.dispose()
    assert mode(home) == 0o700
    assert mode(home / "mlartifacts") == 0o700
    assert [p for p in home.iterdir() if p.is_file() and mode(p) != 0o600] == []


def test_the_command_line_creates_nothing_others_can_read(
    tmp_path: Path, permissive_umask: None
) -> None:
    home = tmp_path / "cli-home"
    env = {"TWINREG_WARM_UP": "0"}
    result = CliRunner().invoke(main, ["init", "--home", str(home)], env=env)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["audit", "checkpoint", "--home", str(home)], env=env)
    assert result.exit_code == 0, result.output
    assert open_to_others(home) == []
    assert os.umask(0o022) == 0o022  # the command restored the caller's umask


def test_the_served_app_creates_its_files_private(tmp_path: Path) -> None:
    home = tmp_path / "served"
    env = {**os.environ, "TWINREG_HOME": str(home), "TWINREG_WARM_UP": "0"}
    script = "import api.http.asgi, os; print(oct(os.umask(0)))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0o77"
    assert open_to_others(home) == []


def _kept_file(name: str) -> Callable[[Settings], Path]:
    return lambda s: s.home / name


OPENED = {
    # what is opened to others -> (path, its mode)
    "home to the world": (lambda s: s.home, 0o755),
    "home to the group": (lambda s: s.home, 0o750),
    "secrets": (_kept_file("secrets.json"), 0o644),
    "signing key": (_kept_file("audit-signing-key.pem"), 0o640),
    "governance database": (_kept_file("governance.db"), 0o644),
    "database's WAL": (_kept_file("governance.db-wal"), 0o604),
    "checkpoints": (_kept_file("audit-checkpoints.jsonl"), 0o644),
    "artifact folder": (_kept_file("mlartifacts"), 0o755),
}


@pytest.mark.parametrize("what", sorted(OPENED))
def test_a_home_open_to_others_is_refused(tmp_path: Path, what: str) -> None:
    settings = home_settings(tmp_path / "home")
    service = TwinregService(settings)  # a private home, with every file in it
    service.audit.append("test.record", {"i": 1})
    service.checkpoints.run_once(final=True)
    service.engine.dispose()
    where, opened = OPENED[what]
    path = where(settings)
    if not path.exists():  # SQLite removed its WAL when the last connection closed
        path.touch()
    path.chmod(opened)
    before = {p.name: p.stat().st_mtime_ns for p in settings.home.iterdir()}
    fix = f"chmod -R go= {settings.home}"
    with pytest.raises(ConfigError, match=f"mode {opened:04o}") as refused:
        TwinregService(settings)
    assert str(refused.value).startswith(f"{path} is open to its group or others")
    assert f"`{fix}`" in str(refused.value)
    assert {p.name: p.stat().st_mtime_ns for p in settings.home.iterdir()} == before
    result = CliRunner().invoke(main, ["info", "--home", str(settings.home)], env={})
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith(f"twinreg: {path} is open to its group or others")
    subprocess.run(["chmod", "-R", "go=", str(settings.home)], check=True)  # the fix works
    TwinregService(settings).engine.dispose()


def test_an_empty_folder_open_to_others_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    home = tmp_path / "shared"
    home.mkdir()
    home.chmod(0o755)
    with pytest.raises(ConfigError, match="chmod -R go= "):
        TwinregService(home_settings(home))
    assert list(home.iterdir()) == [] and mode(home) == 0o755


def test_a_signing_key_kept_elsewhere_is_checked_too(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "audit.pem"
    settings = home_settings(tmp_path / "home", TWINREG_AUDIT_KEY_FILE=str(key))
    service = TwinregService(settings)
    service.engine.dispose()
    assert mode(key) == 0o600 and not (settings.home / "audit-signing-key.pem").exists()
    key.chmod(0o644)
    with pytest.raises(ConfigError, match=f"run `chmod go= {key}`"):
        TwinregService(settings)
