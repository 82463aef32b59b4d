"""A logistic regression's range by the delta method.

The fitted coefficients ``b`` (intercept first) have the covariance ``V = (X'WX + P)^-1``:
``X`` the training rows with a leading 1, ``W = diag(p (1 - p))`` at the fitted
probabilities and ``P`` the ridge penalty scikit-learn's L2 fit adds (``1 / C`` on each
coefficient, none on the intercept; ``P = 0`` for an unpenalised fit, where ``V`` is the
usual inverse Fisher information, equal to statsmodels' ``Logit(...).fit().cov_params()``).
A patient's log-odds ``x'b`` then has the standard error ``sqrt(x'Vx)``; the range is
``sigmoid(x'b -/+ z * se)``: the same interval as statsmodels' ``get_prediction`` gives
on the probability scale, as tests/models/uncertainty hold it to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from models.errors import ArtifactFormatError
from models.uncertainty.patient_range import Z90, PatientRange

FloatArray = npt.NDArray[np.float64]
METHOD = "logistic_delta"


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def ridge_of(model: Any) -> float:
    """The L2 penalty ``1 / C`` of a fitted scikit-learn logistic regression (0: none).

    An L1 or elastic-net fit has no covariance of this form: refused."""
    penalty = getattr(model, "penalty", "l2")
    l1_ratio = getattr(model, "l1_ratio", None)
    c = float(getattr(model, "C", math.inf))
    if penalty is None or penalty == "none" or math.isinf(c):
        return 0.0
    if penalty not in ("l2", "deprecated") or l1_ratio not in (None, 0, 0.0):
        raise ArtifactFormatError(
            "the delta-method range needs an L2-penalised or unpenalised logistic regression"
        )
    return 1.0 / c


@dataclass(frozen=True, eq=False)
class LogisticCovariance:
    #: Intercept first, then the coefficients in feature order.
    coefficients: FloatArray
    covariance: FloatArray
    rows: int

    def __post_init__(self) -> None:
        b = np.asarray(self.coefficients, dtype=np.float64).reshape(-1)
        v = np.asarray(self.covariance, dtype=np.float64)
        if v.shape != (b.size, b.size) or not (np.all(np.isfinite(b)) and np.all(np.isfinite(v))):
            raise ArtifactFormatError(
                f"a logistic covariance must be a finite {b.size}x{b.size} matrix"
            )
        if not np.allclose(v, v.T, rtol=1e-9, atol=1e-12) or np.min(np.linalg.eigvalsh(v)) < 0:
            raise ArtifactFormatError("a logistic covariance must be symmetric and not negative")
        object.__setattr__(self, "coefficients", b)
        object.__setattr__(self, "covariance", v)

    @classmethod
    def of_fit(cls, model: Any, X: npt.ArrayLike) -> LogisticCovariance:
        """The covariance of a fitted scikit-learn ``LogisticRegression`` on its training
        rows ``X`` (columns in the card's feature order)."""
        if not getattr(model, "fit_intercept", True):
            raise ArtifactFormatError("the delta-method range needs a fitted intercept")
        rows = np.asarray(X, dtype=np.float64)
        design = np.hstack([np.ones((rows.shape[0], 1)), rows])
        b = np.r_[np.ravel(model.intercept_), np.ravel(model.coef_)].astype(np.float64)
        if b.size != design.shape[1]:
            raise ArtifactFormatError(f"{b.size - 1} coefficients for {rows.shape[1]} features")
        p = 1.0 / (1.0 + np.exp(-(design @ b)))
        information = (design * (p * (1.0 - p))[:, None]).T @ design
        information[1:, 1:] += np.eye(b.size - 1) * ridge_of(model)
        covariance = np.linalg.inv(information)
        return cls(b, (covariance + covariance.T) / 2.0, rows.shape[0])

    def check_matches(self, model: object) -> None:
        """Refuse a covariance stored with another model than ``model``."""
        if not hasattr(model, "intercept_") or not hasattr(model, "coef_"):
            raise ArtifactFormatError("a logistic covariance needs a fitted logistic regression")
        b = np.r_[np.ravel(model.intercept_), np.ravel(model.coef_)].astype(np.float64)
        if b.shape != self.coefficients.shape or not np.allclose(b, self.coefficients, 0, 1e-12):
            raise ArtifactFormatError("the stored covariance belongs to other coefficients")

    def standard_error(self, row: npt.ArrayLike) -> float:
        """The standard error of the log-odds ``x'b`` of ``row``."""
        x = np.r_[1.0, np.asarray(row, dtype=np.float64).reshape(-1)]
        return math.sqrt(max(float(x @ self.covariance @ x), 0.0))

    def range_for(self, row: npt.ArrayLike, point: float) -> PatientRange:
        x = np.r_[1.0, np.asarray(row, dtype=np.float64).reshape(-1)]
        log_odds = float(x @ self.coefficients)
        se = self.standard_error(row)
        return PatientRange(
            _sigmoid(log_odds - Z90 * se),
            _sigmoid(log_odds + Z90 * se),
            "probability",
            "estimate",
            f"the fitted coefficients' covariance over the {self.rows} training rows, by "
            "the delta method on the log-odds",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": METHOD,
            "rows": self.rows,
            "coefficients": self.coefficients.tolist(),
            "covariance": self.covariance.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogisticCovariance:
        try:
            return cls(
                np.asarray(data["coefficients"], dtype=np.float64),
                np.asarray(data["covariance"], dtype=np.float64),
                int(data["rows"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactFormatError(f"malformed logistic covariance: {exc!r}") from exc
