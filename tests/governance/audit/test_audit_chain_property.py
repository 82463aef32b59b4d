"""Property: whatever was appended, one tamper is found at exactly the tampered seq."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.audit.chain import AuditLog
from governance.audit.checkpoints import read_checkpoints, write_checkpoint
from governance.audit.signing import CheckpointSigner
from governance.audit.verify import verify
from governance.store.migrations import upgraded_engine
from tests.governance import audit_tamper as tamper

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
payloads = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        json_leaf,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=8,
    ),
    max_size=5,
)
actions = st.sampled_from(["predict", "consent.grant", "lifecycle.approved", "audit.read"])
SIGNER = CheckpointSigner.from_pem(CheckpointSigner.new_pem())
TAMPERS = ("edit_body", "edit_hash", "edit_prev_hash", "delete", "swap", "truncate")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[tuple[str, dict[str, Any]]], str, int, int]:
    appends = draw(st.lists(st.tuples(actions, payloads), min_size=2, max_size=12))
    n = len(appends)
    kind = draw(st.sampled_from(TAMPERS))
    # Deleting the last record is a truncation: the "truncate" case (with a checkpoint).
    last = n - 1 if kind == "delete" else n
    a = draw(st.integers(1, last))
    b = draw(st.integers(a + 1, n)) if kind == "swap" and a < n else a
    if kind == "swap" and a == n:
        a, b = n - 1, n
    return appends, kind, a, b


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_verify_names_exactly_the_tampered_record(
    scenario: tuple[list[tuple[str, dict[str, Any]]], str, int, int],
) -> None:
    appends, kind, a, b = scenario
    with tempfile.TemporaryDirectory() as tmp:
        engine = upgraded_engine(f"sqlite:///{Path(tmp) / 'governance.db'}")
        try:
            log = AuditLog(engine)
            for action, payload in appends:
                log.append(action, payload)
            path = Path(tmp) / "checkpoints.jsonl"
            write_checkpoint(engine, path, SIGNER)
            assert verify(engine, read_checkpoints(path, [SIGNER.public_key])).ok
            if kind == "swap":
                tamper.swap(engine, a, b)
            elif kind == "truncate":
                tamper.truncate_from(engine, a)
            else:
                getattr(tamper, kind)(engine, a)
            result = verify(engine, read_checkpoints(path, [SIGNER.public_key]))
            assert not result.ok
            assert result.first_bad_seq == a, (kind, a, b, result.message)
            assert result.count == a - 1
            assert f"seq={a}" in result.message
        finally:
            engine.dispose()
