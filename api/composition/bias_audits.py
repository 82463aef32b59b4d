"""Composition of a bias audit: models score a version's evaluation set, governance judges it.

The scores come from :func:`models.scoring.score` with the loaded model; the metrics and the
judgement against the policy's limits are :mod:`governance.validation.bias_audit`'s; the lifecycle
records the result (:meth:`governance.lifecycle.versions.Lifecycle.record_bias_audit`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from governance.lifecycle.versions import VersionState
from governance.validation import bias_audit
from models.scoring import score


def evaluate_bias(
    state: VersionState, model: object, evaluation: pd.DataFrame, limits: Mapping[str, Any]
) -> dict[str, Any]:
    """Score the version's evaluation set and judge it with the policy's limits
    (regressors and mechanistic twins on the error scale their card declares)."""
    card = state.card
    X = evaluation.loc[:, list(card.feature_names)].to_numpy(dtype=np.float64)
    sensitive = {a: evaluation[a].to_numpy() for a in card.sensitive_attributes}
    scores = score(card.kind, model, X, output=card.default_output)
    if scores.probability is not None:
        assert card.threshold is not None
        result = bias_audit.audit_classifier(
            evaluation["y"].to_numpy(), scores.probability, card.threshold, sensitive, limits
        )
    elif scores.risk_score is not None:
        assert card.horizon is not None and scores.survival_at_horizon is not None
        result = bias_audit.audit_survival(
            evaluation["time"].to_numpy(),
            evaluation["event"].to_numpy().astype(bool),
            scores.risk_score,
            scores.survival_at_horizon,
            card.horizon,
            sensitive,
            limits,
        )
    else:
        assert scores.value is not None
        result = bias_audit.audit_regressor(
            evaluation["y"].to_numpy(), scores.value, sensitive, limits, card.error_scale
        )
    out: dict[str, Any] = json.loads(json.dumps(result.to_dict()))
    out["passed"] = bool(result.passed)
    return out
