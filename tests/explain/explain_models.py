"""Small trained models for the explain tests (imported by conftest and the tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.datasets import make_classification, make_regression

from models import TwinKind

N_FEATURES = 6
NAMES = tuple(f"x{i}" for i in range(N_FEATURES))


@dataclass(frozen=True)
class Trained:
    kind: TwinKind
    model: Any
    rows: np.ndarray
    background: np.ndarray


def classification() -> tuple[np.ndarray, np.ndarray]:
    x, y = make_classification(
        n_samples=300, n_features=N_FEATURES, n_informative=4, random_state=0
    )
    return x, y


def regression() -> tuple[np.ndarray, np.ndarray]:
    x, y = make_regression(n_samples=300, n_features=N_FEATURES, noise=5.0, random_state=1)
    return x, y
