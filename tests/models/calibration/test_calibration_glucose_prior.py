"""The glucose prior's constants, computed again from simglucose's own cohort file, and the
basal steady state against the cohort's."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np
import pytest

from models.calibration.glucose_days import steady_state
from models.calibration.glucose_prior import LOG_MEDIAN, OMEGA, PARAMETER_NAMES
from models.mechanistic.glucose import virtual_cohort

pytest.importorskip("simglucose")


def test_prior_constants_are_the_cohort_log_mean_and_sd() -> None:
    path = resources.files("simglucose") / "params" / "vpatient_params.csv"
    rows = list(csv.DictReader(path.read_text("utf-8").splitlines()))
    assert len(rows) == 30
    logs = np.log([[float(r[name]) for name in PARAMETER_NAMES] for r in rows])
    np.testing.assert_allclose(LOG_MEDIAN, logs.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(OMEGA, logs.std(axis=0, ddof=1), rtol=1e-12)


def test_steady_state_is_the_cohort_basal_state() -> None:
    """At each patient's own parameters and basal rate, the solved steady state is the one
    the cohort table lists (simglucose's ``x0``)."""
    cohort = virtual_cohort()
    for i in range(30):
        x0 = steady_state(cohort.params[i], float(cohort.basal_u_per_h[i]))
        np.testing.assert_allclose(x0, cohort.x0[i], rtol=1e-6, atol=1e-6, err_msg=cohort.names[i])
