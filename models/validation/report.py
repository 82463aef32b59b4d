"""Validate one twin version on its held-out evaluation set, and compare two versions.

:func:`validate` scores the evaluation set (:func:`models.scoring.score`) and computes
the metrics of the kind's prediction (probability, risk score or value) overall and for
every group of every sensitive attribute. :func:`compare` scores two versions on the
*same* rows and bootstraps the paired difference of their headline metrics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from models.card import TwinCard
from models.errors import ModelsError
from models.scoring import Scores, score
from models.validation import rowwise
from models.validation.bootstrap import BootstrapSettings, interval, resample_indices
from models.validation.classifier import classifier_performance
from models.validation.regression import regression_performance
from models.validation.result import Family, Performance, ValidationReport
from models.validation.survival import survival_performance

FloatArray = npt.NDArray[np.float64]
MISSING = "missing"

#: The metric that ranks versions of each family (higher is better).
PRIMARY_METRIC: Mapping[Family, str] = {
    "classifier": "auc",
    "survival": "concordance",
    "regression": "skill",
}


class ValidationDataError(ModelsError, ValueError):
    """The evaluation set lacks what the card needs (a feature, outcome or attribute)."""


def family_of(card: TwinCard) -> Family:
    prediction = card.kind.prediction_kind
    if prediction == "probability":
        return "classifier"
    if prediction == "risk_score":
        return "survival"
    return "regression"


def outcome_columns(family: Family) -> tuple[str, ...]:
    return ("time", "event") if family == "survival" else ("y",)


def validate(
    card: TwinCard, model: object, evaluation: pd.DataFrame, settings: BootstrapSettings
) -> ValidationReport:
    """Held-out performance of ``model`` (as described by ``card``) with intervals."""
    family = family_of(card)
    _require_columns(evaluation, (*card.feature_names, *outcome_columns(family)))
    _require_columns(evaluation, card.sensitive_attributes, what="sensitive attribute")
    scores = _score(card, model, evaluation)
    performance = _performance_function(card, family, evaluation, scores, settings)
    notes: list[str] = []
    subgroups: dict[str, dict[str, Performance]] = {}
    for a_no, attribute in enumerate(card.sensitive_attributes, start=1):
        labels = group_labels(evaluation[attribute].to_numpy())
        groups: dict[str, Performance] = {}
        for g_no, group in enumerate(sorted(set(labels.tolist()), key=_group_order), start=1):
            rows = np.flatnonzero(labels == group)
            groups[group] = performance(rows, (a_no, g_no), False)
        subgroups[attribute] = groups
    if family == "survival":
        notes.append(
            "calibration is reported at the card's horizon, the one horizon at which the "
            "stored survival model predicts survival"
        )
    if card.evaluation_note is not None:
        notes.append(card.evaluation_note)
    if card.kind.is_mechanistic:
        notes.append(
            f"the metrics describe the default output {card.default_output!r}, the one the "
            "reference population carries an observed value for"
        )
    overall = performance(np.arange(len(evaluation)), (), True)
    return ValidationReport(
        family=family,
        kind=card.kind.value,
        target=_target(card),
        overall=overall,
        subgroups=subgroups,
        settings=settings,
        notes=tuple(notes),
    )


def compare(
    candidate_card: TwinCard,
    candidate: object,
    baseline_card: TwinCard,
    baseline: object,
    evaluation: pd.DataFrame,
    settings: BootstrapSettings,
) -> dict[str, dict[str, Any]]:
    """Paired comparison on the candidate's evaluation set: per headline metric, both
    versions' estimates and the difference ``candidate - baseline`` with its interval.

    Raises :class:`ValidationDataError` when the two cannot be scored on the same rows
    (different prediction kinds, or the baseline reads a feature the set lacks).
    """
    family = family_of(candidate_card)
    if family_of(baseline_card) != family:
        raise ValidationDataError(
            f"a {candidate_card.kind.value} and a {baseline_card.kind.value} twin predict "
            "different things: no paired comparison"
        )
    missing = [n for n in baseline_card.feature_names if n not in evaluation.columns]
    if missing:
        raise ValidationDataError(
            f"the evaluation set lacks features the approved version reads: {missing}"
        )
    _require_columns(evaluation, (*candidate_card.feature_names, *outcome_columns(family)))
    a = _score(candidate_card, candidate, evaluation)
    b = _score(baseline_card, baseline, evaluation)
    idx = resample_indices(len(evaluation), settings, 99)
    rows = np.arange(len(evaluation))[None, :]
    out: dict[str, dict[str, Any]] = {}
    for name, statistic in _paired_statistics(family, evaluation).items():
        point_a, point_b = float(statistic(a, rows)[0]), float(statistic(b, rows)[0])
        boot_a, boot_b = statistic(a, idx), statistic(b, idx)
        out[name] = {
            "candidate": interval(point_a, boot_a, settings.level).to_dict(),
            "baseline": interval(point_b, boot_b, settings.level).to_dict(),
            "difference": interval(point_a - point_b, boot_a - boot_b, settings.level).to_dict(),
        }
    return out


#: ``(scores, index rows) -> one value per row of indices``.
Statistic = Callable[[Scores, npt.NDArray[np.int64]], FloatArray]


def _paired_statistics(family: Family, evaluation: pd.DataFrame) -> dict[str, Statistic]:
    """The headline metrics of ``family``, evaluated row-wise on gathered indices."""
    if family == "classifier":
        y = evaluation["y"].to_numpy(dtype=np.float64)

        def auc(s: Scores, idx: npt.NDArray[np.int64]) -> FloatArray:
            assert s.probability is not None
            return rowwise.auc(y[idx], s.probability[idx])

        def brier(s: Scores, idx: npt.NDArray[np.int64]) -> FloatArray:
            assert s.probability is not None
            return rowwise.brier(y[idx], s.probability[idx])

        return {"auc": auc, "brier": brier}
    if family == "survival":
        t = evaluation["time"].to_numpy(dtype=np.float64)
        e = evaluation["event"].to_numpy(dtype=np.float64).astype(bool)

        def c_index(s: Scores, idx: npt.NDArray[np.int64]) -> FloatArray:
            assert s.risk_score is not None
            return rowwise.concordance(e, t, s.risk_score, rowwise.weights_of(idx, len(t)))

        return {"concordance": c_index}
    y = evaluation["y"].to_numpy(dtype=np.float64)

    def error(name: str) -> Statistic:
        def statistic(s: Scores, idx: npt.NDArray[np.int64]) -> FloatArray:
            assert s.value is not None
            return rowwise.regression_errors(y[idx], s.value[idx])[name]

        return statistic

    return {"skill": error("skill"), "mae": error("mae"), "rmse": error("rmse")}


def _performance_function(
    card: TwinCard,
    family: Family,
    evaluation: pd.DataFrame,
    scores: Scores,
    settings: BootstrapSettings,
) -> Callable[[npt.NDArray[np.int64], tuple[int, ...], bool], Performance]:
    """``(rows, stream, full) -> Performance`` of the family, on a subset of rows."""
    if family == "classifier":
        y = evaluation["y"].to_numpy(dtype=np.float64)
        p = scores.probability
        assert p is not None and card.threshold is not None
        threshold = card.threshold
        return lambda rows, stream, full: classifier_performance(
            y[rows], p[rows], threshold, settings, stream, full
        )
    if family == "survival":
        t = evaluation["time"].to_numpy(dtype=np.float64)
        e = evaluation["event"].to_numpy(dtype=np.float64).astype(bool)
        r, s = scores.risk_score, scores.survival_at_horizon
        assert r is not None and s is not None and card.horizon is not None
        horizon = card.horizon
        return lambda rows, stream, full: survival_performance(
            t[rows], e[rows], r[rows], s[rows], horizon, settings, stream, full
        )
    y = evaluation["y"].to_numpy(dtype=np.float64)
    v = scores.value
    assert v is not None
    return lambda rows, stream, full: regression_performance(
        y[rows], v[rows], settings, stream, full
    )


def _score(card: TwinCard, model: object, evaluation: pd.DataFrame) -> Scores:
    X = evaluation.loc[:, list(card.feature_names)].to_numpy(dtype=np.float64)
    return score(card.kind, model, X, output=card.default_output)


def _target(card: TwinCard) -> str:
    if card.kind.is_mechanistic:
        return f"output {card.default_output!r}: {card.outcome}"
    return card.outcome


def _require_columns(
    evaluation: pd.DataFrame, columns: tuple[str, ...], what: str = "column"
) -> None:
    missing = [c for c in columns if c not in evaluation.columns]
    if missing:
        raise ValidationDataError(f"the evaluation set lacks the {what}(s) {missing}")
    if len(evaluation) < 2:
        raise ValidationDataError("the evaluation set needs at least two rows")


def group_labels(values: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Group labels as bias audits write them: ``1.0`` as ``"1"``, missing as ``"missing"``."""
    raw = np.asarray(values, dtype=object).reshape(-1)
    return np.array([_label(v) for v in raw], dtype=str)


def _label(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        if math.isnan(float(value)):
            return MISSING
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value)


def _group_order(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)
