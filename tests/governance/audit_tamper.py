"""Tampering with the audit table behind the application's back (raw SQL), for tests."""

from __future__ import annotations

import json
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
