"""What every ``twinreg`` command shares: the home option's help, the settings and the
service of a home, and the one-line failure."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from api.composition.settings import Settings

if TYPE_CHECKING:
    from governance.store.migrations import Mode

HOME_HELP = "Home folder (default: $TWINREG_HOME or ./.twinreg)."


def _settings(home: str | None) -> Settings:
    return Settings.load(home)


def _where(home: str | None) -> str:
    """Where the home's path came from, as the user set it."""
    if home:
        return "--home"
    return "TWINREG_HOME" if os.environ.get("TWINREG_HOME") else "the default ./.twinreg"


def _existing(settings: Settings, home: str | None) -> None:
    """Refuse a home that is a file, does not exist or holds no governance database: a
    mistyped ``--home`` must not silently become a new, empty home (only ``init``,
    ``demo``, ``demo-clinic``, ``serve`` and ``bench`` create one; given a file, they say
    it is not a folder)."""
    path = settings.home
    create = f"'twinreg init --home {path}' creates one"
    if path.exists() and not path.is_dir():
        _fail(
            f"the twinreg home {path} (from {_where(home)}) is a file, not a folder: name the "
            "home folder ('twinreg init --home FOLDER' creates one)"
        )
    if not path.is_dir():
        _fail(f"no twinreg home at {path} (from {_where(home)}): it does not exist; {create}")
    if (
        settings.governance_url == f"sqlite:///{path / 'governance.db'}"
        and not (path / "governance.db").is_file()
    ):
        _fail(
            f"no twinreg home at {path} (from {_where(home)}): the folder holds no "
            f"governance.db; {create}"
        )


def _service(home: str | None, schema: Mode = "require", create: bool = False) -> Any:
    """The service of the home; unless ``create``, the home must already exist."""
    from api.composition.service import TwinregService

    settings = _settings(home)
    if not create:
        _existing(settings, home)
    return TwinregService(settings, schema=schema)


def _fail(message: str) -> None:
    click.echo(f"twinreg: {message}", err=True)
    sys.exit(2)
