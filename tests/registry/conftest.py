"""Registry fixtures: one real SQLite MLflow home per session with the demo twins in it.

Opening a fresh SQLite store runs MLflow's migrations (about 2 s), so the home is shared;
tests that change state use their own model names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.card import FeatureSpec, TwinCard, TwinKind
from models.cox import CoxLinearModel
from models.demo_twins import DemoTwin
from registry import RegisteredVersion, TwinRegistry


@pytest.fixture(scope="session")
def registry_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("registry-home")


@pytest.fixture(scope="session")
def twin_registry(registry_home: Path) -> TwinRegistry:
    registry = TwinRegistry.embedded(registry_home)
    registry.ping()
    return registry


@pytest.fixture(scope="session")
def registered_demo(
    twin_registry: TwinRegistry, demo_twins: list[DemoTwin]
) -> dict[str, tuple[DemoTwin, RegisteredVersion]]:
    out: dict[str, tuple[DemoTwin, RegisteredVersion]] = {}
    for twin in demo_twins:
        version = twin_registry.register(
            twin.name, twin.card.kind, twin.model, twin.card, twin.evaluation, "dana",
            uncertainty=twin.uncertainty,
        )  # fmt: skip
        out[twin.name] = (twin, version)
    return out


@pytest.fixture()
def tiny_cox() -> tuple[CoxLinearModel, TwinCard, pd.DataFrame]:
    """A two-feature Cox twin that registers in milliseconds."""
    model = CoxLinearModel(("age", "stage"), np.array([0.03, 0.4]), 365.0, 0.9)
    card = TwinCard(
        kind=TwinKind.COX_PH,
        description="tiny",
        outcome="event within a year",
        intended_purposes=("research",),
        features=(
            FeatureSpec("age", "int", "years", 18, 110),
            FeatureSpec("stage", "int", "stage", 1, 4),
        ),
        envelope={"age": (30.0, 90.0), "stage": (1.0, 4.0)},
        sensitive_attributes=(),
        data_categories=("demographics",),
        horizon=365.0,
    )
    evaluation = pd.DataFrame(
        {"age": [40.0, 70.0], "stage": [1.0, 3.0], "time": [100.0, 300.0], "event": [0.0, 1.0]}
    )
    return model, card, evaluation
