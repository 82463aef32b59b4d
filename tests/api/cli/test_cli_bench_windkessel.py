"""``twinreg bench --suite windkessel``: recovery of the blood-pressure twin's R_p and C
from 1, 4 and 12 readings, calibrated vs prior-only, in one table (a small run here)."""

from __future__ import annotations

import io

from click.testing import CliRunner
from rich.console import Console

from api.cli.bench_windkessel import run_windkessel_bench
from api.cli.main import main


def test_the_windkessel_suite_prints_each_parameters_recovery() -> None:
    out = io.StringIO()
    results, timed = run_windkessel_bench(
        Console(file=out, width=250, color_system=None), n_patients=10
    )
    text = out.getvalue()
    for label in (
        "R_p, 4 reading(s), 10 patients: median |log error| MAP / prior-only",
        "C, 12 reading(s), 10 patients: median |log error| MAP / prior-only",
        "calibration, 4 readings",
        "forecast 24 h (2,000 draws) + Shapley + leave-one-out",
    ):
        assert any(label in line for line in text.splitlines()), (label, text)
    assert [r["readings"] for r in results] == [1, 4, 12]
    assert all(r["failed_fits"] == 0 for r in results)
    assert set(timed) == {"calibration_ms", "forecast_explained_ms"}


def test_the_windkessel_suite_is_a_bench_choice() -> None:
    help_text = CliRunner().invoke(main, ["bench", "--help"]).output
    assert "windkessel" in help_text
