"""``twinreg bench --suite trials`` (issue 17): the three ways side by side in one table,
each figure beside the issue's bound (a small cohort here; the command runs 1,000,000)."""

from __future__ import annotations

import io

from click.testing import CliRunner
from rich.console import Console

from api.cli.bench_trials import BENCH_PATIENTS, run_trials_bench
from api.cli.main import main


def test_the_trials_suite_prints_every_figure_beside_its_bound() -> None:
    out = io.StringIO()
    results = run_trials_bench(
        Console(file=out, width=250, color_system=None),
        n_patients=4_000,
        rounds=1,
        chunk_size=1_000,
    )
    text = out.getvalue()
    for label, bound in [
        ("numba prange, 2 threads, no Ray (4,000 x 2 arms, 72 h; 8 chunks)", "-"),
        ("Ray 2 workers / prange", "<= 2x"),
        ("speed-up of Ray 2 workers over 1", ">= 1.7x"),
        ("patient-arms per second per core", "-"),
        ("the cores' contention: prange 2 threads over 1 thread", "-"),
        ("every way's summary identical", "yes"),
    ]:
        line = next((x for x in text.splitlines() if label in x), None)
        assert line is not None and bound in line, (label, text)
    assert results["identical_summaries"] and results["chunks"] == 8
    assert "15 mg/kg q12h: P(auc24 in [400, 600]) =" in text and "n = 4,000" in text
    assert [len(v) for v in results["times"].values()] == [1, 1, 1, 1]


def test_the_trials_suite_is_a_bench_choice_with_a_patients_option() -> None:
    help_text = " ".join(CliRunner().invoke(main, ["bench", "--help"]).output.split())
    assert "trials" in help_text and "--patients" in help_text
    assert BENCH_PATIENTS == 1_000_000
    refused = CliRunner().invoke(main, ["bench", "--suite", "trials", "--patients", "10"])
    assert refused.exit_code != 0 and "10 is not in the range" in refused.output
