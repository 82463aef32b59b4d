"""Helpers for API tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text

from governance.release.gate import CHECK_ORDER
from models.demo_twins import DemoTwin

#: The release gate's checks in the order they run (one place: governance.release.gate).
GATE_ORDER = list(CHECK_ORDER)


def twin_named(twins: list[DemoTwin], name: str) -> DemoTwin:
    return next(t for t in twins if t.name == name)


def features_of(twin: DemoTwin, index: int = 0) -> dict[str, float]:
    row = twin.evaluation.iloc[index]
    return {n: float(row[n]) for n in twin.card.feature_names}


def prepare_patient(
    api: Any, patient: str, categories: list[str], purpose: str = "treatment"
) -> str:
    """Register ``patient`` at the clinician's site and grant a consent; returns its id."""
    response = api.client.put(
        f"/v1/patients/{patient}", json={"site": "st-mary"}, headers=api.clinician
    )
    assert response.status_code == 200, response.text
    response = api.client.post(
        f"/v1/patients/{patient}/consents",
        json={"purpose": purpose, "data_categories": categories},
        headers=api.clinician,
    )
    assert response.status_code == 201, response.text
    consent_id: str = response.json()["id"]
    return consent_id


def run_sql(url: str, sql: str, **params: Any) -> list[Any]:
    """Run one statement directly on a governance database (SQLite or PostgreSQL), as an
    attacker with database access would; returns the rows of a SELECT."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()
