"""The CLI: token, info, audit verify/checkpoint catching edits, deletions, reorders and
truncations; tampered artifacts refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import CliRunner

from api.cli.main import main
from api.composition.settings import Settings
from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, prepare_patient, run_sql, twin_named


def run(settings: Settings, *args: str) -> Any:
    env = {
        "TWINREG_TRACKING_URI": settings.tracking_uri,
        "TWINREG_GOVERNANCE_URL": settings.governance_url,
        "TWINREG_ARTIFACT_ROOT": settings.artifact_root,
        "TWINREG_POLICIES": str(settings.policies_dir),
    }
    return CliRunner().invoke(main, [*args, "--home", str(settings.home)], env=env)


def test_token_prints_a_valid_token_alone(settings: Settings, service: Any) -> None:
    result = run(
        settings, "token", "--user", "carla", "--role", "clinician", "--site", "a", "--ttl", "30m"
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert "\n" not in token
    claims = jwt.decode(token, service.token_key, algorithms=["HS256"])
    assert claims["sub"] == "carla" and claims["site"] == "a"
    assert claims["exp"] - claims["iat"] == 1800 and claims["jti"]


@pytest.mark.parametrize(
    "args",
    [
        ["--user", "u", "--role", "wizard"],
        ["--user", "u", "--role", "clinician"],
        ["--user", "u", "--role", "validator", "--site", "a"],
        ["--user", "u", "--role", "validator", "--ttl", "soon"],
    ],
)
def test_token_refuses_bad_arguments(settings: Settings, args: list[str]) -> None:
    result = run(settings, "token", *args)
    assert result.exit_code != 0
    assert "twinreg:" in result.output


def test_info_json(settings: Settings) -> None:
    result = run(settings, "info", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["home"] == str(settings.home)
    assert len(data["policy_version"]) == 64
    names = {m["name"]: m for m in data["models"]}
    assert names["whas500-mortality"]["approved_version"] == "1"


def _verify(settings: Settings) -> Any:
    return run(settings, "audit", "verify")


def _rows(settings: Settings) -> dict[int, tuple[str, str]]:
    """seq -> (record_id, hash) of every stored audit record."""
    rows = run_sql(settings.governance_url, "SELECT seq, record_id, hash FROM audit_record")
    return {int(seq): (str(record_id), str(digest)) for seq, record_id, digest in rows}


def _broken(result: Any, message: str) -> None:
    """``audit verify`` exited 1 and printed exactly ``message`` on stderr, nothing else."""
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr == f"audit chain BROKEN: {message}\n"


def test_verify_ok(settings: Settings) -> None:
    result = _verify(settings)
    assert result.exit_code == 0, result.output
    rows = _rows(settings)
    assert len(rows) > 6 and sorted(rows) == list(range(1, len(rows) + 1))
    assert result.stdout == (
        f"audit chain OK: {len(rows)} records verified; no checkpoint covers them\n"
    )


def test_verify_catches_an_edited_record(settings: Settings) -> None:
    changed = run_sql(
        settings.governance_url,
        "UPDATE audit_record SET body = replace(body, 'victor', 'mallory') WHERE seq = 3 "
        "RETURNING seq",
    )
    assert [tuple(r) for r in changed] == [(3,)]
    record_id = _rows(settings)[3][0]
    _broken(
        _verify(settings),
        f"record seq=3 (record_id={record_id}) does not match: SHA-256(previous hash + body) "
        "differs from its stored hash; its body or hash was edited",
    )


def test_verify_catches_a_deleted_record(settings: Settings) -> None:
    run_sql(settings.governance_url, "DELETE FROM audit_record WHERE seq = 4")
    record_id = _rows(settings)[5][0]
    _broken(
        _verify(settings),
        "record seq=4 is missing: the chain jumps from seq=3 to "
        f"record seq=5 (record_id={record_id}): records were deleted",
    )


def test_verify_catches_reordered_records(settings: Settings) -> None:
    url = settings.governance_url
    sql = "SELECT seq, record_id, body, prev_hash, hash FROM audit_record WHERE seq IN (5, 6)"
    rows = {r[0]: r[1:] for r in run_sql(url, sql)}
    run_sql(url, "UPDATE audit_record SET record_id = 'tmp' WHERE seq = 6")
    for seq, other in ((5, 6), (6, 5)):
        record_id, body, prev_hash, digest = rows[other]
        run_sql(
            url,
            "UPDATE audit_record SET record_id = :r, body = :b, prev_hash = :p, hash = :h "
            "WHERE seq = :s",
            r=record_id,
            b=body,
            p=prev_hash,
            h=digest,
            s=seq,
        )
    # seq 5 now holds record 6 (its id, body and hashes): the first bad record is seq 5
    _broken(
        _verify(settings),
        f"record seq=5 (record_id={rows[6][0]}) carries seq=6 in its body: "
        "records were reordered or moved",
    )


def test_verify_catches_truncation_behind_a_checkpoint(settings: Settings) -> None:
    cp = run(settings, "audit", "checkpoint")
    assert cp.exit_code == 0, cp.output
    count, head_hash = cp.output.split()
    n = int(count)
    assert (n, head_hash) == (len(_rows(settings)), _rows(settings)[n][1])
    run_sql(settings.governance_url, "DELETE FROM audit_record WHERE seq >= :n", n=n - 1)
    # the checkpoint as stored outside the database (the CLI printed its count and hash)
    stored = json.loads(settings.checkpoints_file.read_text(encoding="utf-8").splitlines()[-1])
    assert (stored["count"], stored["hash"]) == (n, head_hash)
    _broken(
        _verify(settings),
        f"records seq={n - 1}..{n} are missing: the checkpoint of {stored['at']} recorded "
        f"{n} records (head hash {head_hash}) but the chain ends at seq={n - 2}: "
        "it was truncated",
    )


def test_tampered_artifact_is_refused(
    api: Any, settings: Settings, demo_twins: list[DemoTwin]
) -> None:
    """A byte changed in the artifact withholds the prediction; restored afterwards."""
    whas = twin_named(demo_twins, "whas500-mortality")
    files = list(Path(settings.artifact_root).rglob("model.ubj"))
    assert files
    originals = {path: path.read_bytes() for path in files}
    try:
        for path, data in originals.items():
            changed = bytearray(data)
            changed[len(changed) // 2] ^= 0x01
            path.write_bytes(bytes(changed))
        prepare_patient(api, "p-1", ["demographics", "vitals", "history"])
        r = api.client.post(
            "/v1/predictions",
            headers=api.clinician,
            json={
                "model": whas.name,
                "patient_id": "p-1",
                "purpose": "treatment",
                "features": features_of(whas),
            },
        )
        assert r.status_code == 403, r.text
        reason = r.json()["reasons"][0]
        assert reason["check"] == "approval"
        assert "digest does not match" in reason["detail"]
    finally:
        for path, data in originals.items():
            path.write_bytes(data)


def test_an_unreachable_store_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {"TWINREG_GOVERNANCE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"}
    (tmp_path / "h").mkdir(mode=0o700)
    result = CliRunner().invoke(main, ["info", "--home", str(tmp_path / "h")], env=env)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith("twinreg: the governance database cannot be used: ")
    assert "port 1" in lines[0]


@pytest.mark.parametrize(
    "command",
    [["info"], ["audit", "verify"], ["token", "--user", "a", "--role", "clinician",
                                     "--site", "s"], ["upgrade"], ["policy", "load"]],
)  # fmt: skip
def test_a_mistyped_home_is_refused_and_not_created(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "homme"
    result = CliRunner().invoke(main, [*command, "--home", str(missing)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines == [f"twinreg: no twinreg home at {missing} (from --home): it does not exist; "
                     f"'twinreg init --home {missing}' creates one"]  # fmt: skip
    assert not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, [*command, "--home", str(empty)])
    assert result.exit_code == 2 and "holds no governance.db" in result.output
    assert list(empty.iterdir()) == []


#: Every command that reads a home (each with the arguments it needs first).
READERS = [
    ["info"], ["upgrade"], ["audit", "verify"], ["audit", "checkpoint"], ["audit", "public-key"],
    ["audit", "export"], ["token", "--user", "a", "--role", "clinician", "--site", "s"],
    ["token", "revoke", "--user", "a"], ["policy", "load"], ["ingest"],
    ["register", "--name", "m", "--run-id", "r", "--user", "ds"],
    ["dossier", "--user", "v", "m", "1"],
]  # fmt: skip
#: The commands that create a home when there is none.
CREATORS = [["init"], ["demo"], ["demo-clinic"], ["serve"], ["bench"]]


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_home_that_is_a_file_is_one_line_for_every_reader(
    tmp_path: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    afile = tmp_path / "home.txt"
    afile.write_text("not a folder")
    result = CliRunner().invoke(main, [*command, "--home", str(afile)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is not None
    assert isinstance(result.exception, SystemExit)
    assert result.output.strip().splitlines() == [
        f"twinreg: the twinreg home {afile} (from --home) is a file, not a folder: name the "
        "home folder ('twinreg init --home FOLDER' creates one)"
    ]
    assert afile.read_text() == "not a folder"
    monkeypatch.setenv("TWINREG_HOME", str(afile))
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2 and "(from TWINREG_HOME) is a file" in result.output


@pytest.mark.parametrize("command", CREATORS, ids=" ".join)
def test_a_home_that_is_a_file_is_one_line_for_every_creator(
    tmp_path: Path, command: list[str]
) -> None:
    afile = tmp_path / "home.txt"
    afile.write_text("not a folder")
    result = CliRunner().invoke(main, [*command, "--home", str(afile)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [f"twinreg: the home {afile} is not a folder"]
    assert afile.read_text() == "not a folder"


def test_an_unusable_home_path_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(main, ["init", "--home", str(blocker / "home")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith(f"twinreg: cannot use {blocker}")


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_serve_refuses_an_invalid_port_before_creating_anything(tmp_path: Path, port: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--home", str(tmp_path / "h"), "--port", port])
    assert result.exit_code == 2 and "Invalid value for '--port'" in result.output
    assert not (tmp_path / "h").exists()
