"""``twinreg bench --suite glucose``: the glucose twin's figures in one table, each next to
the issue's bound (a one-day recovery here; the command runs three days)."""

from __future__ import annotations

import io

from click.testing import CliRunner
from rich.console import Console

from api.cli.bench_glucose import run_glucose_bench
from api.cli.main import main


def test_the_glucose_suite_prints_every_figure_beside_its_bound() -> None:
    out = io.StringIO()
    results = run_glucose_bench(Console(file=out, width=250, color_system=None), n_days=1)
    text = out.getvalue()
    for label, bound in [
        ("Vmx median |log error|, calibrated / prior", "< 1"),
        ("kp3 median |log error|, calibrated / prior", "< 1"),
        ("kabs median |log error|, calibrated / prior", "< 1"),
        ("kabs: true values inside the 90% Laplace interval", "%"),
        ("calibration on 14 days of CGM (4,033 readings, best of 3)", "<= 2 s"),
        ("forecast of the next day (289 times, 250 posterior draws)", " s"),
        ("its exact Shapley explanation (8 coalitions)", " s"),
        ("leave-one-day-out influence (3 refits)", " s"),
    ]:
        line = next((x for x in text.splitlines() if label in x), None)
        assert line is not None and bound in line, (label, text)
    assert set(results) == {"recovery", "fourteen_days_s", "forecast_seconds"}


def test_the_glucose_suite_is_a_bench_choice() -> None:
    help_text = CliRunner().invoke(main, ["bench", "--help"]).output
    assert "glucose" in help_text and "14-day calibration" in help_text
