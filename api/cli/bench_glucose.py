"""``twinreg bench --suite glucose``: the glucose twin's figures (issue 14), measured in one
run (:mod:`models.calibration.bench`): recovery of Vmx, kp3 and kabs on the 30 virtual
patients with 3 days of noisy CGM against the prior's error, the seconds of a calibration
on 14 days of CGM, and of a next-day forecast with its explanation and influence."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from models.calibration.bench import forecast_seconds, fourteen_days_seconds, recovery


def glucose_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, measured, the issue's bound) for each figure of ``results``."""
    rec, seconds = results["recovery"], results["forecast_seconds"]
    rows = []
    for k, name in enumerate(rec["parameters"]):
        calibrated, prior = rec["median_abs_log_error"][k], rec["prior_median_abs_log_error"][k]
        rows.append((
            f"recovery (30 virtual patients, 3 days of CGM): {name} median |log error|, "
            "calibrated / prior",
            f"{calibrated / prior:.3f} ({calibrated:.3f} / {prior:.3f})", "< 1",
        ))  # fmt: skip
        rows.append((f"  {name}: true values inside the 90% Laplace interval",
                     f"{rec['coverage_90'][k]:.0%}", "-"))  # fmt: skip
    rows += [
        ("calibration on 14 days of CGM (4,033 readings, best of 3)",
         f"{results['fourteen_days_s']:.3f} s", "<= 2 s"),
        ("forecast of the next day (289 times, 250 posterior draws)",
         f"{seconds['forecast']:.3f} s", "-"),
        ("  its exact Shapley explanation (8 coalitions)", f"{seconds['explanation']:.3f} s", "-"),
        ("  leave-one-day-out influence (3 refits)", f"{seconds['influence']:.3f} s", "-"),
    ]  # fmt: skip
    return rows


def run_glucose_bench(console: Console | None = None, n_days: int = 3) -> dict[str, Any]:
    console = console or Console()
    console.rule("type 1 diabetes glucose twin (issue 14)")
    results = {
        "recovery": recovery(n_days),
        "fourteen_days_s": fourteen_days_seconds(),
        "forecast_seconds": forecast_seconds(),
    }
    table = Table(title="glucose twin: recovery, calibration, forecast")
    for col in ("figure", "measured", "issue 14"):
        table.add_column(col, justify="left" if col == "figure" else "right")
    for row in glucose_rows(results):
        table.add_row(*row)
    console.print(table)
    return results
