"""``twinreg audit``: verify the chain, write and export checkpoints, the public key."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from api.cli.common import HOME_HELP, _fail, _service


@click.group()
def audit() -> None:
    """Audit-log commands."""


@audit.command("verify")
@click.option("--home", default=None, help=HOME_HELP)
@click.option(
    "--public-key",
    "public_keys",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Trust only this public key (PEM, from `twinreg audit public-key`); repeatable. "
    "Default: the home's own key.",
)
@click.option(
    "--checkpoints",
    "checkpoint_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoints file to verify against (repeatable, e.g. one per host). "
    "Default: the home's audit-checkpoints.jsonl.",
)
def audit_verify(
    home: str | None, public_keys: tuple[Path, ...], checkpoint_files: tuple[Path, ...]
) -> None:
    """Recompute the hash chain and check it against the signed checkpoints; exit 1
    naming the first record that does not match, or a checkpoint that is not evidence."""
    from governance.audit.signing import CheckpointKey

    keys = [CheckpointKey.from_pem(path.read_bytes()) for path in public_keys]
    result = _service(home).audit_verify(None, keys, list(checkpoint_files))
    if result["ok"]:
        click.echo(f"audit chain OK: {result['message']}")
        return
    click.echo(f"audit chain BROKEN: {result['message']}", err=True)
    sys.exit(1)


@audit.command("checkpoint")
@click.option("--home", default=None, help=HOME_HELP)
def audit_checkpoint(home: str | None) -> None:
    """Sign the chain head (count + hash) now and store it outside the database (the
    server also does this by itself)."""
    cp = _service(home).audit_checkpoint()
    click.echo(f"{cp['count']} {cp['hash']}")


@audit.command("public-key")
@click.option("--home", default=None, help=HOME_HELP)
def audit_public_key(home: str | None) -> None:
    """Print the public key (PEM) that verifies this home's signed checkpoints."""
    click.echo(_service(home).audit_public_key(), nl=False)


@audit.command("export")
@click.option("--home", default=None, help=HOME_HELP)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to this file (created 0600) instead of stdout.",
)
def audit_export(home: str | None, output: Path | None) -> None:
    """Write every audit record as stored, one JSON line each (seq, body, prev_hash,
    hash), for verification outside twinreg (docs/audit-format.md); the export is audited."""
    if output is not None and output.exists():
        _fail(f"{output} exists: name a new file (an export never overwrites one)")
    service = _service(home)
    if output is None:
        through = service.audit_export(sys.stdout, "cli")
    else:
        with output.open("x", encoding="utf-8") as out:
            through = service.audit_export(out, "cli")
    click.echo(f"exported records seq 1..{through}", err=True)
