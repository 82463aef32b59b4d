"""Tampering with the audit table behind the application's back (raw SQL), for tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from governance.audit.chain import chain_hash
from governance.canonical import canonical_json

COLUMNS = ("record_id", "at", "action", "body", "prev_hash", "hash")


def row(engine: Engine, seq: int) -> dict[str, Any]:
    with engine.connect() as conn:
        found = (
            conn.execute(text("SELECT * FROM audit_record WHERE seq = :s"), {"s": seq})
            .mappings()
            .one()
        )
        conn.commit()
    return dict(found)


def execute(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def edit_body(engine: Engine, seq: int) -> None:
    """Change one payload value, keeping the body canonical JSON (the hash is left)."""
    body = json.loads(row(engine, seq)["body"])
    body["payload"]["tampered"] = True
    execute(
        engine, "UPDATE audit_record SET body = :b WHERE seq = :s", b=canonical_json(body), s=seq
    )


def edit_hash(engine: Engine, seq: int) -> None:
    execute(engine, "UPDATE audit_record SET hash = :h WHERE seq = :s", h="f" * 64, s=seq)


def edit_prev_hash(engine: Engine, seq: int) -> None:
    execute(engine, "UPDATE audit_record SET prev_hash = :h WHERE seq = :s", h="e" * 64, s=seq)


def delete(engine: Engine, seq: int) -> None:
    execute(engine, "DELETE FROM audit_record WHERE seq = :s", s=seq)


def truncate_from(engine: Engine, seq: int) -> None:
    execute(engine, "DELETE FROM audit_record WHERE seq >= :s", s=seq)


def swap(engine: Engine, a: int, b: int) -> None:
    """Exchange everything but the seqs of two records (a reordering)."""
    ra, rb = row(engine, a), row(engine, b)
    sets = ", ".join(f"{c} = :{c}" for c in COLUMNS)
    with engine.begin() as conn:
        # record_id is unique: park one record on a temporary id first.
        conn.execute(text("UPDATE audit_record SET record_id = 'tmp' WHERE seq = :s"), {"s": a})
        conn.execute(
            text(f"UPDATE audit_record SET {sets} WHERE seq = :s"),
            {**{c: ra[c] for c in COLUMNS}, "s": b},
        )
        conn.execute(
            text(f"UPDATE audit_record SET {sets} WHERE seq = :s"),
            {**{c: rb[c] for c in COLUMNS}, "s": a},
        )


def rewrite_from(engine: Engine, seq: int) -> None:
    """Edit record ``seq`` and recompute every later hash: an internally consistent chain."""
    with engine.begin() as conn:
        rows = conn.execute(
            text("SELECT seq, body, prev_hash FROM audit_record WHERE seq >= :s ORDER BY seq"),
            {"s": seq},
        ).all()
        prev = rows[0].prev_hash
        for number, (s, body, _) in enumerate(rows):
            if number == 0:
                parsed = json.loads(body)
                parsed["payload"]["rewritten"] = True
                body = canonical_json(parsed)
            digest = chain_hash(prev, body)
            conn.execute(
                text("UPDATE audit_record SET body = :b, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"b": body, "p": prev, "h": digest, "s": s},
            )
            prev = digest


def append_fabricated(engine: Engine, payload: dict[str, Any] | None = None) -> None:
    """Append a record behind the application's back, correctly chained to the head."""
    with engine.begin() as conn:
        seq, prev = conn.execute(
            text("SELECT seq, hash FROM audit_record ORDER BY seq DESC LIMIT 1")
        ).one()
    _insert_fabricated(engine, int(seq) + 1, str(prev), payload or {"fabricated": True})


def replace_last(engine: Engine) -> None:
    """Delete the last record and put a fabricated one, correctly chained, in its place."""
    with engine.begin() as conn:
        seq, prev = conn.execute(
            text("SELECT seq, prev_hash FROM audit_record ORDER BY seq DESC LIMIT 1")
        ).one()
    delete(engine, int(seq))
    _insert_fabricated(engine, int(seq), str(prev), {"replaced": True})


def _insert_fabricated(engine: Engine, seq: int, prev: str, payload: dict[str, Any]) -> None:
    record_id = f"00000000-0000-4000-8000-{seq:012d}"
    at = "2026-01-01T00:00:00.000000Z"
    body = canonical_json(
        {"action": "predict", "at": at, "payload": payload, "record_id": record_id, "seq": seq}
    )
    execute(
        engine,
        "INSERT INTO audit_record (seq, record_id, at, action, body, prev_hash, hash) "
        "VALUES (:s, :r, :a, 'predict', :b, :p, :h)",
        s=seq,
        r=record_id,
        a=datetime(2026, 1, 1, tzinfo=UTC),
        b=body,
        p=prev,
        h=chain_hash(prev, body),
    )
