"""``twinreg bench --suite windkessel``: the Windkessel twin's figures, measured in one run
(:mod:`models.calibration.bench_windkessel`): recovery of R_p and C on virtual patients
drawn from the prior, calibrated vs prior-only, with 1, 4 and 12 cuff readings; interval
coverage; the cost of a calibration and of an explained forecast."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from models.calibration.bench_windkessel import recovery, timings

RECOVERY_PATIENTS = 200
READINGS = (1, 4, 12)


def windkessel_rows(
    results: list[dict[str, Any]], timed: dict[str, float]
) -> list[tuple[str, str]]:
    """(figure, measured) for each recovery run and the timings."""
    rows = []
    for result in results:
        n, k = int(result["patients"]), int(result["readings"])
        for i, name in enumerate(result["parameters"]):
            fitted = result["median_abs_log_error"][i]
            prior = result["prior_median_abs_log_error"][i]
            rows.append((
                f"{name}, {k} reading(s), {n} patients: median |log error| MAP / prior-only",
                f"{fitted:.3f} / {prior:.3f} ({fitted / prior:.2f}x); 90% coverage "
                f"{result['coverage_90'][i]:.1%}",
            ))  # fmt: skip
        rows.append((f"  fits that did not converge ({k} readings)",
                     f"{int(result['failed_fits'])} ({result['seconds']:.1f} s)"))  # fmt: skip
    rows.append(("calibration, 4 readings (Levenberg-Marquardt, Laplace)",
                 f"{timed['calibration_ms']:.1f} ms"))  # fmt: skip
    rows.append(("forecast 24 h (2,000 draws) + Shapley + leave-one-out",
                 f"{timed['forecast_explained_ms']:.1f} ms"))  # fmt: skip
    return rows


def run_windkessel_bench(
    console: Console | None = None, n_patients: int = RECOVERY_PATIENTS
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    console = console or Console()
    console.rule("Windkessel patient twin (blood pressure)")
    results = [recovery(n_patients, n) for n in READINGS]
    timed = timings()
    table = Table(title="windkessel twin: recovery of R_p and C, calibration, forecast")
    table.add_column("figure", justify="left")
    table.add_column("measured", justify="right")
    for row in windkessel_rows(results, timed):
        table.add_row(*row)
    console.print(table)
    return results, timed
