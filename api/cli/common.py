"""What every ``twinreg`` command shares: the home option's help, the settings and the
service of a home, and the one-line failure."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from api.composition.settings import Settings

if TYPE_CHECKING:
    from governance.store.migrations import Mode

HOME_HELP = "Home folder (default: $TWINREG_HOME or ./.twinreg)."


def _settings(home: str | None) -> Settings:
    return Settings.load(home)


def _service(home: str | None, schema: Mode = "require") -> Any:
    from api.composition.service import TwinregService

    return TwinregService(_settings(home), schema=schema)


def _fail(message: str) -> None:
    click.echo(f"twinreg: {message}", err=True)
    sys.exit(2)
