"""Explanation checks of one version over its validation set, for the dossier.

- **additivity**: every explained row must satisfy ``base + sum(phi) = output`` within
  the kind's tolerance (:func:`~explain.attribution.check_additivity`), counted over the
  rows checked, with the largest residual (absolute, and relative to what is allowed);
- **stability**: explaining the same row again with the same explainer must give the
  identical explanation, bit for bit; when a ``rebuild`` factory is given, a freshly
  built explainer must also give it for the first of those rows (construction is
  deterministic: no random background draws);
- **global importance**: mean ``|phi|`` per feature over the rows checked (in the kind's
  output space), largest first, for the model card.

Rows are the whole validation set up to ``max_rows``; beyond it a seeded sample of
``max_rows`` rows is checked and the result says so (``sampled`` and ``sample_note``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from explain.attribution import check_additivity
from explain.errors import ExplainError
from explain.explained import Explained, TwinExplainer


@dataclass(frozen=True)
class ExplanationChecks:
    """Outcome of :func:`check_explanations`; verdicts are left to governance."""

    output_space: str
    rows_total: int
    rows_checked: int
    sampled: bool
    sample_note: str | None
    additivity_failures: int
    #: Largest ``|base + sum(phi) - output|`` over the rows checked.
    max_residual: float
    #: Largest residual divided by the residual allowed for that row (<= 1 is faithful).
    max_residual_ratio: float
    tolerance: float
    stability_rows: int
    unstable_rows: int
    rebuilt_explainer: bool
    #: Rows whose explanation raised an error (counted as additivity failures too).
    errors: tuple[str, ...]
    #: Mean ``|phi|`` per feature, largest first.
    importance: dict[str, float]

    @property
    def additive(self) -> bool:
        return self.rows_checked > 0 and self.additivity_failures == 0

    @property
    def stable(self) -> bool:
        return self.stability_rows > 0 and self.unstable_rows == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "output_space": self.output_space,
            "additivity": {
                "rows_total": self.rows_total,
                "rows_checked": self.rows_checked,
                "sampled": self.sampled,
                "sample_note": self.sample_note,
                "failures": self.additivity_failures,
                "max_residual": _finite(self.max_residual),
                "max_residual_ratio": _finite(self.max_residual_ratio),
                "tolerance": _finite(self.tolerance),
                "errors": list(self.errors),
            },
            "stability": {
                "rows": self.stability_rows,
                "unstable": self.unstable_rows,
                "rebuilt_explainer": self.rebuilt_explainer,
            },
            "global_importance": {
                "measure": f"mean |SHAP| in {self.output_space}",
                "features": [
                    {"feature": name, "mean_abs": value} for name, value in self.importance.items()
                ],
            },
        }


def check_explanations(
    explainer: TwinExplainer,
    X: np.ndarray,
    *,
    max_rows: int,
    stability_rows: int,
    seed: int,
    rebuild: Callable[[], TwinExplainer] | None = None,
) -> ExplanationChecks:
    """Explain the rows of ``X`` (card feature order) and check the explanations."""
    rows = np.asarray(X, dtype=np.float64)
    total = int(rows.shape[0])
    if total == 0 or max_rows < 1:
        raise ValueError("explanation checks need at least one row")
    rng = np.random.default_rng(seed)
    sampled = total > max_rows
    picked = np.sort(rng.choice(total, max_rows, replace=False)) if sampled else np.arange(total)
    note = (
        f"{max_rows} of {total} rows, drawn with seed {seed}: explaining every row would "
        "exceed the dossier's row budget for this kind"
        if sampled
        else None
    )
    names = explainer.feature_names
    tolerance = math.nan
    failures, residual, ratio = 0, 0.0, 0.0
    errors: list[str] = []
    explained: dict[int, Explained] = {}
    totals = np.zeros(len(names))
    space = ""
    for i in picked.tolist():
        try:
            result = explainer.explain(rows[i])
        except ExplainError as exc:
            failures += 1
            errors.append(f"row {i}: {exc}")
            continue
        explained[i] = result
        attribution = result.attribution
        space = attribution.output_space
        check = check_additivity(attribution, float32=explainer.float32)
        tolerance = check.tolerance
        failures += not check.faithful
        residual = max(residual, check.residual)
        ratio = max(ratio, check.residual / check.allowed if check.allowed > 0 else math.inf)
        totals += np.abs([attribution.contributions[n] for n in names])
    checked = len(explained)
    order = np.argsort(-totals, kind="stable")
    importance = {names[j]: float(totals[j] / checked) for j in order} if checked else {}
    stable_pick = sorted(explained)[: max(0, stability_rows)]
    fresh = rebuild() if rebuild is not None and stable_pick else None
    unstable = sum(
        not _identical(explained[i], explainer, fresh if n == 0 else None, rows[i])
        for n, i in enumerate(stable_pick)
    )
    return ExplanationChecks(
        output_space=space,
        rows_total=total,
        rows_checked=len(picked),
        sampled=sampled,
        sample_note=note,
        additivity_failures=failures,
        max_residual=residual if checked else math.nan,
        max_residual_ratio=ratio if checked else math.nan,
        tolerance=tolerance,
        stability_rows=len(stable_pick),
        unstable_rows=unstable,
        rebuilt_explainer=fresh is not None,
        errors=tuple(errors[:10]),
        importance=importance,
    )


def _identical(
    first: Explained, explainer: TwinExplainer, fresh: TwinExplainer | None, row: np.ndarray
) -> bool:
    """Explaining ``row`` again (and with the fresh explainer) gives ``first`` exactly."""
    try:
        again = [explainer.explain(row)] + ([fresh.explain(row)] if fresh is not None else [])
    except ExplainError:
        return False
    return all(other.to_dict() == first.to_dict() for other in again)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
