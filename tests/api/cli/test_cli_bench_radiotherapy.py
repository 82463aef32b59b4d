"""``twinreg bench --suite radiotherapy``: the radiotherapy twin's figures in one table (a
small recovery run here; the command runs 200 patients)."""

from __future__ import annotations

import io

from click.testing import CliRunner
from rich.console import Console

from api.cli.bench_radiotherapy import run_radiotherapy_bench
from api.cli.main import main


def test_the_radiotherapy_suite_prints_every_figure() -> None:
    out = io.StringIO()
    run_radiotherapy_bench(Console(file=out, width=250, color_system=None), n_patients=10)
    text = out.getvalue()
    for label in [
        "10 virtual patients from the prior",
        "standard course: median |log error| of initial_volume, MAP / prior-only",
        "standard course: median |log error| of growth_rate, MAP / prior-only",
        "+ follow-up volume: median |log error| of alpha, MAP / prior-only",
        "standard course: fits that did not converge",
        "plain scipy BFGS on the same objective",
        "forecast (29 days, 2,000 draws) with Shapley and leave-one-out",
    ]:
        assert label in text, (label, text)
    line = next(x for x in text.splitlines() if "plain scipy" in x)
    assert "x ours" in line


def test_the_radiotherapy_suite_is_a_bench_choice() -> None:
    help_text = CliRunner().invoke(main, ["bench", "--help"]).output
    assert "radiotherapy" in help_text
