"""``twinreg bench --suite dosing`` (issue 14): the vancomycin figures in one table, each
next to the issue's bound (a small recovery run here; the command runs 1,000 patients)."""

from __future__ import annotations

import io

from click.testing import CliRunner
from rich.console import Console

from api.cli.bench_dosing import RECOVERY_PATIENTS, run_dosing_bench
from api.cli.main import main


def test_the_dosing_suite_prints_every_figure_beside_its_bound() -> None:
    out = io.StringIO()
    results = run_dosing_bench(Console(file=out, width=250, color_system=None), n_patients=20)
    text = out.getvalue()
    for label, bound in [
        ("recovery (20 virtual patients): median |CL error|, MAP / prior-only", "<= 0.9"),
        ("recovery: median bias of the MAP clearance", "within ±5%"),
        ("recovery: 90% intervals of the held-out trough covering it", "86-94%"),
        ("calibration, 4 levels", "<= 10 ms"),
        ("the plain scipy version (BFGS, finite-difference Hessian)", "x ours"),
        ("recommendation over the grid (29 regimens)", "<= 200 ms"),
        ("forecast (72 times, 2,000 draws) with explanation", "<= 100 ms"),
    ]:
        line = next((x for x in text.splitlines() if label in x), None)
        assert line is not None and bound in line, (label, text)
    recovery, calibration, _, _ = results
    assert recovery["patients"] == 20 and recovery["failed_fits"] == 0
    assert calibration["max_abs_eta_difference"] < 1e-4  # ours and scipy find one mode


def test_the_dosing_suite_is_a_bench_choice_and_part_of_all() -> None:
    help_text = " ".join(CliRunner().invoke(main, ["bench", "--help"]).output.split())
    assert "dosing" in help_text and "1,000 virtual patients" in help_text
    assert RECOVERY_PATIENTS == 1000
