"""``twinreg bench --suite radiotherapy``: the radiotherapy twin's calibration figures
(:mod:`models.calibration.bench_radiotherapy`): recovery of virtual patients drawn from the
prior against the prior alone, interval coverage, and the time of a calibration (next to
plain scipy BFGS on the same objective) and of an explained forecast."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from models.calibration.bench_radiotherapy import PATIENTS, recovery, timings


def radiotherapy_rows(
    standard: dict[str, Any], follow_up: dict[str, Any], times: dict[str, float]
) -> list[tuple[str, str]]:
    """(figure, measured) for each figure."""
    rows = []
    for label, figures in (("standard course", standard), ("+ follow-up volume", follow_up)):
        for k, name in enumerate(figures["parameters"]):
            ours = figures["median_abs_log_error"][k]
            prior = figures["prior_median_abs_log_error"][k]
            rows.append((
                f"{label}: median |log error| of {name}, MAP / prior-only",
                f"{ours / prior:.3f} ({ours:.3f} / {prior:.3f}); 90% interval coverage "
                f"{figures['coverage_90'][k]:.1%}",
            ))  # fmt: skip
        rows.append((f"{label}: fits that did not converge", str(figures["failed_fits"])))
    scipy = times["scipy_bfgs_ms"]
    rows += [
        ("calibration (Levenberg-Marquardt, Laplace at the mode)",
         f"{times['calibration_ms']:.2f} ms"),
        ("  plain scipy BFGS on the same objective (no Laplace)",
         f"{scipy:.2f} ms ({scipy / times['calibration_ms']:.1f}x ours); max |eta difference| "
         f"{times['max_abs_eta_difference']:.1e}"),
        ("forecast (29 days, 2,000 draws) with Shapley and leave-one-out",
         f"{times['forecast_explained_ms']:.1f} ms"),
    ]  # fmt: skip
    return rows


def run_radiotherapy_bench(console: Console | None = None, n_patients: int = PATIENTS) -> None:
    console = console or Console()
    console.rule("radiotherapy twin calibration")
    rows = radiotherapy_rows(recovery(n_patients), recovery(n_patients, follow_up=True), timings())
    table = Table(title=f"radiotherapy twin: {n_patients} virtual patients from the prior")
    table.add_column("figure", justify="left")
    table.add_column("measured", justify="right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
