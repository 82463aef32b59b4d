"""`twinreg audit`: signed checkpoints, the public key, pinned keys and several checkpoint
files in `verify`, and the export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from api.cli.main import main
from api.composition.settings import Settings
from governance.audit.signing import CheckpointKey, CheckpointSigner


def run(settings: Settings, *args: str) -> Any:
    env = {
        "TWINREG_TRACKING_URI": settings.tracking_uri,
        "TWINREG_GOVERNANCE_URL": settings.governance_url,
        "TWINREG_ARTIFACT_ROOT": settings.artifact_root,
        "TWINREG_POLICIES": str(settings.policies_dir),
    }
    return CliRunner().invoke(main, [*args, "--home", str(settings.home)], env=env)


def test_checkpoint_is_signed_by_the_exported_public_key(settings: Settings) -> None:
    cp = run(settings, "audit", "checkpoint")
    assert cp.exit_code == 0, cp.output
    count, digest = cp.stdout.split()
    line = json.loads(settings.checkpoints_file.read_text().splitlines()[-1])
    assert (line["count"], line["hash"]) == (int(count), digest)
    exported = run(settings, "audit", "public-key")
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.startswith("-----BEGIN PUBLIC KEY-----\n")
    key = CheckpointKey.from_pem(exported.stdout.encode())
    assert key.key_id == line["key_id"]
    assert key.verifies(line["count"], line["hash"], line["at"], line["signature"])
    ok = run(settings, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert ok.stdout == (
        f"audit chain OK: {count} records verified; 1 checkpoints matched, "
        f"covering seq 1..{count}\n"
    )


def test_verify_trusts_only_the_pinned_keys(settings: Settings, tmp_path: Path) -> None:
    assert run(settings, "audit", "checkpoint").exit_code == 0
    other = CheckpointSigner.from_pem(CheckpointSigner.new_pem()).public_key
    pinned = tmp_path / "other.pem"
    pinned.write_text(other.pem())
    result = run(settings, "audit", "verify", "--public-key", str(pinned))
    assert result.exit_code == 1 and result.stdout == ""
    own = json.loads(settings.checkpoints_file.read_text())["key_id"]
    assert result.stderr.startswith(
        f"audit chain BROKEN: {settings.checkpoints_file}:1: checkpoint of "
    )
    assert f"signed by key '{own}', which is not trusted (trusted: {other.key_id})" in (
        result.stderr
    )
    # the home's own key, pinned, verifies it
    home_key = tmp_path / "home.pem"
    home_key.write_text(run(settings, "audit", "public-key").stdout)
    both = run(
        settings, "audit", "verify", "--public-key", str(pinned), "--public-key", str(home_key)
    )
    assert both.exit_code == 0, both.output
    not_a_key = tmp_path / "garbage.pem"
    not_a_key.write_text("hello")
    bad = run(settings, "audit", "verify", "--public-key", str(not_a_key))
    assert bad.exit_code == 2 and bad.output.startswith("twinreg: not a PEM public key")


def test_verify_reads_every_host_s_checkpoints(settings: Settings, tmp_path: Path) -> None:
    assert run(settings, "audit", "checkpoint").exit_code == 0
    elsewhere = tmp_path / "host-b.jsonl"
    settings.checkpoints_file.rename(elsewhere)
    assert run(settings, "audit", "checkpoint").exit_code == 0
    result = run(
        settings,
        "audit",
        "verify",
        "--checkpoints",
        str(settings.checkpoints_file),
        "--checkpoints",
        str(elsewhere),
    )
    assert result.exit_code == 0, result.output
    assert "2 checkpoints matched" in result.stdout


def test_export_writes_every_record_as_stored_and_is_recorded(
    settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "log.jsonl"
    result = run(settings, "audit", "export", "--output", str(out))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().split("\n")[:-1]]
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert sorted(rows[0]) == ["body", "hash", "prev_hash", "seq"]
    assert result.stderr == f"exported records seq 1..{len(rows)}\n"
    assert (out.stat().st_mode & 0o077) == 0
    again = run(settings, "audit", "export", "--output", str(out))
    assert again.exit_code == 2 and again.output == (
        f"twinreg: {out} exists: name a new file (an export never overwrites one)\n"
    )
    stdout = run(settings, "audit", "export")
    exported = [json.loads(line) for line in stdout.stdout.split("\n")[:-1]]
    assert exported[: len(rows)] == rows
    last = json.loads(exported[-1]["body"])
    assert last["action"] == "audit.export" and last["payload"]["through_seq"] == len(rows)
