"""`twinreg trial`: a cohort drawn from a prior, arms as regimens, each arm's attainment
with its interval, an HTML report with the arms' distributions as charts; a malformed
arm, or a cohort named twice, is one line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

from api.composition.settings import Settings
from tests.api.cli.test_cli_audit import run

ARMS = ["--arm", "q12h=15 mg/kg q12h over 1 h x 6", "--arm", "q8h=15 mg/kg q8h"]


def test_a_trial_prints_each_arms_attainment_and_writes_its_report(
    settings: Settings, tmp_path: Path
) -> None:
    report = tmp_path / "trial.html"
    result = run(settings, "trial", "--user", "rita", "--size", "400", "--seed", "3", *ARMS,
                 "--target", "auc24=400:600", "--report", str(report))  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "q12h (15 mg/kg q12h over 1 h x 6), 400 patients" in out
    assert "q8h (15 mg/kg q8h over 1 h x 9), 400 patients" in out
    assert out.count("auc24 in [400, 600]:") == 3 and "(95% interval" in out
    page = report.read_text()
    assert page.count("<svg") == 3  # auc24, trough, peak
    assert "Probability of target attainment" in page and "q8h - q12h" in page


def test_a_bad_arm_or_two_cohorts_is_one_line_and_a_failure(settings: Settings) -> None:
    bad = run(settings, "trial", "--user", "rita", "--size", "10", "--arm", "q12h=lots")
    assert bad.exit_code != 0 and "NAME=DOSE mg|mg/kg qINTERVALh" in bad.output
    both = run(settings, "trial", "--user", "rita", "--size", "10", "--cohort", "x", *ARMS)
    assert both.exit_code != 0 and "give --cohort ID, or --size N" in both.output
