"""An outside verifier, written here from docs/audit-format.md alone (hashlib, json and
cryptography; nothing of twinreg), checks what `twinreg audit export`, the server's
signed checkpoints and `twinreg audit public-key` give it — and catches each tamper once
a signed checkpoint covers it."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from api.cli.main import main
from api.composition.service import TwinregService
from api.composition.settings import Settings
from governance.canonical import canonical_json
from governance.store.migrations import upgraded_engine
from tests.governance import audit_tamper as tamper

# -- the outside verifier (docs/audit-format.md) --------------------------------------------
GENESIS = "0" * 64
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def spec_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u00{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def shortest_digits(x: float) -> tuple[str, int]:
    """(d1..dn, k) with 0.d1..dn x 10^k the shortest decimal reading back as x > 0 (the
    nearest to x among those of that length)."""
    with localcontext() as ctx:
        ctx.prec = 1200
        exact = Decimal(x)
        for p in range(1, 18):
            quantum = Decimal(1).scaleb(exact.adjusted() - p + 1)
            fits = [
                c
                for c in (
                    exact.quantize(quantum, ROUND_FLOOR),
                    exact.quantize(quantum, ROUND_CEILING),
                )
                if float(c) == x
            ]
            if fits:
                best = min(fits, key=lambda c: (abs(c - exact), int(c.as_tuple().digits[-1]) % 2))
                digits = "".join(map(str, best.as_tuple().digits)).rstrip("0")
                return digits, best.adjusted() + 1
    raise AssertionError(f"no digits for {x!r}")


def spec_float(x: float) -> str:
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    digits, k = shortest_digits(abs(x))
    n = len(digits)
    if -4 < k <= 16:
        if k <= 0:
            return f"{sign}0.{'0' * -k}{digits}"
        if k < n:
            return f"{sign}{digits[:k]}.{digits[k:]}"
        return f"{sign}{digits}{'0' * (k - n)}.0"
    mantissa = digits[0] + ("." + digits[1:] if n > 1 else "")
    e = k - 1
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e):02d}"


def spec_json(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return spec_float(value)
    if isinstance(value, str):
        return spec_string(value)
    if isinstance(value, list):
        return "[" + ",".join(spec_json(v) for v in value) + "]"
    keys = sorted(value, key=lambda key: [ord(c) for c in key])
    return "{" + ",".join(f"{spec_string(k)}:{spec_json(value[k])}" for k in keys) + "}"


@dataclass
class Verdict:
    findings: list[str] = field(default_factory=list)
    records: int = 0
    covered: int = 0


def verify_outside(export: bytes, checkpoints: bytes, public_pem: bytes) -> Verdict:
    verdict = Verdict()
    hashes: dict[int, str] = {}
    prev = GENESIS
    # lines end at "\n" only: a body may hold U+2028 or U+0085 as they are
    for number, line in enumerate(export.decode("utf-8").split("\n")[:-1], start=1):
        row = json.loads(line)
        seq, body = row["seq"], row["body"]
        digest = hashlib.sha256((prev + body).encode("utf-8")).hexdigest()
        parsed = json.loads(body)
        if seq != number:
            verdict.findings.append(f"record {number}: missing (the export jumps to {seq})")
        elif digest != row["hash"] or row["prev_hash"] != prev:
            verdict.findings.append(f"record {seq}: hash does not match")
        elif parsed.get("seq") != seq or spec_json(parsed) != body:
            verdict.findings.append(f"record {seq}: body moved or not canonical")
        if verdict.findings:
            return verdict
        hashes[seq], prev, verdict.records = digest, digest, seq
    key = serialization.load_pem_public_key(public_pem)
    assert isinstance(key, Ed25519PublicKey)
    raw_key = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(raw_key).hexdigest()[:16]
    for number, line in enumerate(checkpoints.decode("ascii").split("\n")[:-1], start=1):
        cp = json.loads(line)
        message = f"twinreg-audit-checkpoint/v1\n{cp['count']}\n{cp['hash']}\n{cp['at']}\n"
        try:
            if sorted(cp) != ["at", "count", "hash", "key_id", "signature"]:
                raise InvalidSignature
            if cp["key_id"] != key_id:
                raise InvalidSignature
            key.verify(bytes.fromhex(cp["signature"]), message.encode("ascii"))
        except (InvalidSignature, ValueError):
            verdict.findings.append(f"checkpoint line {number}: not signed by the key")
            continue
        count = cp["count"]
        if count not in hashes:
            verdict.findings.append(f"checkpoint of {count}: truncated after {verdict.records}")
        elif hashes[count] != cp["hash"]:
            verdict.findings.append(f"checkpoint of {count}: rewritten")
        else:
            verdict.covered = max(verdict.covered, count)
    return verdict


# -- the rules against twinreg's own encoder, for the whole class of values --------------
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_the_float_rule_is_twinregs(x: float) -> None:
    assert spec_float(x) == canonical_json(x)


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"])))
def test_the_string_rule_is_twinregs(text: str) -> None:
    assert spec_string(text) == canonical_json(text)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet=st.characters(exclude_categories=["Cs"])), inner)
    ),
    max_leaves=12,
)


@given(json_values)
def test_the_whole_form_is_twinregs(value: Any) -> None:
    assert spec_json(value) == canonical_json(value)


def test_the_documented_examples() -> None:
    examples = {1e16: "1e+16", 1e15: "1000000000000000.0", 0.0001: "0.0001", 1e-05: "1e-05"}
    examples |= {1.5e-07: "1.5e-07", 5e-324: "5e-324", 100.0: "100.0", 3.25: "3.25"}
    examples |= {-0.0: "-0.0", 1.7976931348623157e308: "1.7976931348623157e+308"}
    for x, text in examples.items():
        assert spec_float(x) == text == canonical_json(x)
    assert (
        spec_string("\x1f/\x7f\u2028")
        == '"\\u001f/\x7f\u2028"'
        == canonical_json("\x1f/\x7f\u2028")
    )
    assert spec_json({"\ue000": 1, "\U0001f600": 2}) == canonical_json(
        {"\ue000": 1, "\U0001f600": 2}
    )
    message = "twinreg-audit-checkpoint/v1\n3\n" + "a" * 64 + "\n2026-11-23T19:58:01.123456Z\n"
    assert len(message.encode("ascii")) == 123


# -- real exports --------------------------------------------------------------------------
TRICKY = {
    "floats": [0.1, -2.5e-7, 1e16, 123456789.125, 5e-324, 1.7976931348623157e308, -0.0],
    "big": 2**80,
    "text": 'quote " backslash \\ tab \t nul \x00 e-acute \u00e9 emoji \U0001f600 \u2028',
    "keys": {"\ue000": 1, "\U0001f600": 2, "a": [True, False, None]},
}


def cli(settings: Settings, *args: str) -> Any:
    env = {
        "TWINREG_TRACKING_URI": settings.tracking_uri,
        "TWINREG_GOVERNANCE_URL": settings.governance_url,
        "TWINREG_ARTIFACT_ROOT": settings.artifact_root,
        "TWINREG_POLICIES": str(settings.policies_dir),
    }
    result = CliRunner().invoke(main, [*args, "--home", str(settings.home)], env=env)
    assert result.exit_code == 0, result.output
    return result


def exported(settings: Settings, tmp_path: Path, name: str) -> tuple[bytes, bytes, bytes]:
    out = tmp_path / f"{name}.jsonl"
    cli(settings, "audit", "export", "--output", str(out))
    pem = cli(settings, "audit", "public-key").stdout.encode("ascii")
    return out.read_bytes(), settings.checkpoints_file.read_bytes(), pem


def signed_history(service: TwinregService) -> int:
    """Real records plus tricky ones, covered by two checkpoints the server's writer
    signs; returns the count the newest one covers."""
    service.audit.append("test.tricky", TRICKY)
    assert service.checkpoints.run_once(final=True) is not None
    for i in range(3):
        service.audit.append("test.more", {"i": i, "ratio": i / 3})
    newest = service.checkpoints.run_once(final=True)
    assert newest is not None
    return newest.count


def test_an_intact_export_verifies_outside(
    service: TwinregService, settings: Settings, tmp_path: Path
) -> None:
    covered = signed_history(service)
    export, checkpoints, pem = exported(settings, tmp_path, "log")
    verdict = verify_outside(export, checkpoints, pem)
    assert verdict.findings == []
    assert verdict.covered == covered == verdict.records  # the export itself is recorded after
    assert service.audit.head()[0] == covered + 1
    # an edited checkpoint line is caught too
    lines = checkpoints.decode().splitlines()
    edited = json.loads(lines[0])
    edited["count"] -= 1
    forged = "\n".join([json.dumps(edited), *lines[1:]]).encode() + b"\n"
    assert verify_outside(export, forged, pem).findings == [
        "checkpoint line 1: not signed by the key"
    ]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")
def test_openssl_checks_a_checkpoint_as_documented(
    service: TwinregService, settings: Settings, tmp_path: Path
) -> None:
    signed_history(service)
    _, checkpoints, pem = exported(settings, tmp_path, "log")
    cp = json.loads(checkpoints.decode().splitlines()[-1])
    (tmp_path / "pub.pem").write_bytes(pem)
    (tmp_path / "message").write_bytes(
        f"twinreg-audit-checkpoint/v1\n{cp['count']}\n{cp['hash']}\n{cp['at']}\n".encode()
    )
    (tmp_path / "signature").write_bytes(bytes.fromhex(cp["signature"]))
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin"]
    command += ["-in", "message", "-sigfile", "signature"]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout, ok
    (tmp_path / "message").write_bytes(b"twinreg-audit-checkpoint/v1\n1\n" + b"0" * 64 + b"\n")
    assert subprocess.run(command, cwd=tmp_path, capture_output=True).returncode != 0


TAMPERS: dict[str, Callable[[Engine, int], object]] = {
    "delete last": lambda e, n: tamper.delete(e, n),
    "truncate": lambda e, n: tamper.truncate_from(e, n - 2),
    "replace last": lambda e, n: tamper.replace_last(e),
    "rewrite and rehash all": lambda e, n: tamper.rewrite_from(e, 1),
    "append fabricated in place of deleted ones": lambda e, n: (
        tamper.truncate_from(e, n - 1),
        tamper.append_fabricated(e),
        tamper.append_fabricated(e),
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_each_tamper_is_caught_outside(
    service: TwinregService, settings: Settings, tmp_path: Path, case: str
) -> None:
    covered = signed_history(service)
    engine = upgraded_engine(settings.governance_url)
    try:
        TAMPERS[case](engine, covered)
    finally:
        engine.dispose()
    export, checkpoints, pem = exported(settings, tmp_path, case.replace(" ", "-"))
    findings = verify_outside(export, checkpoints, pem).findings
    assert findings, case
    assert findings[-1].startswith(f"checkpoint of {covered}: "), findings
    assert all(f.startswith("checkpoint of ") for f in findings), findings
