"""``twinreg bench --suite dosing``: issue 14's vancomycin figures, measured side by side in
one run (:func:`models.dosing.bench.dosing_benchmarks`), each next to the issue's bound."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from models.dosing.bench import dosing_benchmarks

RECOVERY_PATIENTS = 1000


def dosing_rows(results: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(figure, measured, the issue's bound) for each figure of ``results``."""
    recovery, calibration, recommendation, forecast = results
    n = int(recovery["patients"])
    return [
        (f"recovery ({n} virtual patients): median |CL error|, MAP / prior-only",
         f"{recovery['error_ratio']:.3f} ({recovery['median_abs_error_map']:.3f} / "
         f"{recovery['median_abs_error_prior']:.3f} L/h)", "<= 0.9"),
        ("recovery: median bias of the MAP clearance", f"{recovery['median_bias']:+.2%}",
         "within ±5%"),
        ("recovery: 90% intervals of the held-out trough covering it",
         f"{recovery['coverage_90']:.1%}", "86-94%"),
        ("recovery: fits that did not converge",
         f"{int(recovery['failed_fits'])} ({recovery['seconds']:.1f} s for the run)", "-"),
        ("calibration, 4 levels (Newton, exact derivatives, Laplace)",
         f"{calibration['ms']:.2f} ms", "<= 10 ms"),
        ("  the plain scipy version (BFGS, finite-difference Hessian)",
         f"{calibration['scipy_bfgs_fd_hessian_ms']:.2f} ms "
         f"({calibration['scipy_bfgs_fd_hessian_ms'] / calibration['ms']:.1f}x ours)", "-"),
        ("  max |eta ours - eta scipy|", f"{calibration['max_abs_eta_difference']:.1e}", "-"),
        (f"recommendation over the grid ({recommendation['regimens']} regimens)",
         f"{recommendation['ms']:.1f} ms", "<= 200 ms"),
        ("forecast (72 times, 2,000 draws) with explanation (Shapley + leave-one-out)",
         f"{forecast['ms']:.1f} ms", "<= 100 ms"),
    ]  # fmt: skip


def run_dosing_bench(
    console: Console | None = None, n_patients: int = RECOVERY_PATIENTS
) -> list[dict[str, Any]]:
    console = console or Console()
    console.rule("vancomycin precision dosing (issue 14)")
    results = dosing_benchmarks(n_patients)
    table = Table(title="vancomycin twin: recovery, calibration, recommendation, forecast")
    for col in ("figure", "measured", "issue 14"):
        table.add_column(col, justify="left" if col == "figure" else "right")
    for row in dosing_rows(results):
        table.add_row(*row)
    console.print(table)
    return results
