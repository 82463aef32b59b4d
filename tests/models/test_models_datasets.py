"""The bundled clinical data sets load as numeric float64 frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import datasets


@pytest.mark.parametrize(
    ("loader", "features", "outcomes", "rows"),
    [
        (datasets.load_whas500, datasets.WHAS500_FEATURES, ("time", "event"), 500),
        (datasets.load_gbsg2, datasets.GBSG2_FEATURES, ("time", "event"), 686),
        (datasets.load_diabetes, datasets.DIABETES_FEATURES, ("progression",), 442),
    ],
)
def test_loader_shape_and_types(loader, features, outcomes, rows) -> None:
    frame: pd.DataFrame = loader()
    assert len(frame) == rows
    for column in (*features, *outcomes):
        assert frame[column].dtype == np.float64, column
    assert not frame.isna().any().any()


def test_codings() -> None:
    whas = datasets.load_whas500()
    assert set(whas["gender"].unique()) == {0.0, 1.0}
    assert set(whas["event"].unique()) == {0.0, 1.0}
    gbsg = datasets.load_gbsg2()
    assert set(gbsg["menostat"].unique()) == {0.0, 1.0}
    assert set(gbsg["horTh"].unique()) == {0.0, 1.0}
    assert set(gbsg["tgrade"].unique()) == {1.0, 2.0, 3.0}
    diabetes = datasets.load_diabetes()
    assert set(diabetes["sex"].unique()) == {0.0, 1.0}
    assert "target" not in diabetes.columns
