"""The limits a validation dossier is judged by: ``thresholds.toml [dossier]``, read and
checked (a missing or bad value is a :class:`~governance.errors.PolicyError`: fail
closed), and the digest that identifies them together with ``credibility.toml``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from governance.canonical import canonical_json
from governance.errors import PolicyError
from governance.policy.credibility import CredibilityPolicy

#: The limits of each model family, by key of ``[dossier.<family>]``.
FAMILY_KEYS: Mapping[str, tuple[str, ...]] = {
    "classifier": (
        "min_auc_lower",
        "max_brier_upper",
        "max_calibration_in_the_large",
        "min_calibration_slope",
        "max_calibration_slope",
        "min_group_auc_lower",
    ),
    "survival": (
        "min_concordance_lower",
        "min_group_concordance_lower",
        "max_calibration_difference",
    ),
    "regression": (
        "min_skill",
        "min_skill_lower",
        "max_relative_bias",
        "max_group_mae_ratio_upper",
    ),
}


@dataclass(frozen=True)
class DossierLimits:
    """``thresholds.toml [dossier]``, checked (a missing or bad value is a PolicyError)."""

    table: Mapping[str, Any]
    resamples: int
    level: float
    explanation_max_rows: int
    explanation_max_rows_mechanistic: int
    stability_rows: int
    max_additivity_failures: int
    max_unstable_explanations: int
    max_verification_relative_error: float
    family: Mapping[str, Mapping[str, float]]
    non_inferiority_margin: float

    def explanation_rows(self, mechanistic: bool) -> int:
        return self.explanation_max_rows_mechanistic if mechanistic else self.explanation_max_rows


def dossier_limits(thresholds: Mapping[str, Any]) -> DossierLimits:
    table = thresholds.get("dossier")
    if not isinstance(table, Mapping):
        raise PolicyError("thresholds.toml [dossier] is required to judge validation dossiers")

    def section(name: str) -> Mapping[str, Any]:
        sub = table.get(name)
        if not isinstance(sub, Mapping):
            raise PolicyError(f"thresholds.toml [dossier.{name}] is required")
        return sub

    level = _number(table, "confidence_level", "dossier")
    if not 0.5 < level < 1.0:
        raise PolicyError("thresholds.toml [dossier] confidence_level must lie in (0.5, 1)")
    return DossierLimits(
        table=table,
        resamples=int(_number(table, "bootstrap_resamples", "dossier", minimum=20)),
        level=level,
        explanation_max_rows=int(_number(table, "explanation_max_rows", "dossier", minimum=1)),
        explanation_max_rows_mechanistic=int(
            _number(table, "explanation_max_rows_mechanistic", "dossier", minimum=1)
        ),
        stability_rows=int(_number(table, "stability_rows", "dossier", minimum=1)),
        max_additivity_failures=int(_number(table, "max_additivity_failures", "dossier")),
        max_unstable_explanations=int(_number(table, "max_unstable_explanations", "dossier")),
        max_verification_relative_error=_number(
            table, "max_verification_relative_error", "dossier"
        ),
        family={
            fam: {k: _number(section(fam), k, f"dossier.{fam}") for k in keys}
            for fam, keys in FAMILY_KEYS.items()
        },
        non_inferiority_margin=_number(
            section("change_control"), "non_inferiority_margin", "dossier.change_control"
        ),
    )


def criteria_digest(limits: DossierLimits, credibility: CredibilityPolicy) -> str:
    """Identifies the criteria a dossier is judged by: the ``[dossier]`` table and the
    bytes of ``credibility.toml``. A dossier judged by other criteria is not current."""
    text = canonical_json({"dossier": limits.table, "credibility_sha256": credibility.sha256})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _number(table: Mapping[str, Any], key: str, where: str, minimum: float = 0.0) -> float:
    value = table.get(key)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(float(value))
        or float(value) < minimum
    ):
        raise PolicyError(
            f"thresholds.toml [{where}] {key} is required: a number >= {minimum:g} "
            f"(found {value!r})"
        )
    return float(value)
