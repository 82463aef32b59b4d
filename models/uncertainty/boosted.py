"""A gradient-boosted twin's range: refits on bootstrap resamples of its training rows.

Trees have no coefficient covariance to carry forward, so the honest measure of how much
one patient's estimate depends on the sample is to refit: the same estimator (every
hyperparameter as registered, one thread) on rows drawn with replacement, each refit's
estimate for the patient computed like the model's own (the margin, through the sigmoid
for a classifier), and the central 90 % of them taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb
from scipy.special import expit

from models.errors import ArtifactFormatError
from models.uncertainty.patient_range import PatientRange, percentile_range, resamples
from models.uncertainty.tree_pack import PackedTrees

FloatArray = npt.NDArray[np.float64]
METHOD = "booster_bootstrap"
#: Refits stored with a version (300 trees of depth 3 on 350 rows: about 0.1 s each).
REFITS = 50


@dataclass(frozen=True, eq=False)
class BoosterBootstrap:
    boosters: tuple[xgb.Booster, ...]
    classifier: bool
    rows: int
    #: The refits packed for evaluation together (:mod:`.tree_pack`); packed from the
    #: boosters when not given (a stored pack is checked against them).
    packed: PackedTrees | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if len(self.boosters) < 20:
            raise ArtifactFormatError("a bootstrap of boosters needs at least 20 refits")
        for booster in self.boosters:
            booster.set_param({"nthread": 1})
        if self.packed is None:
            object.__setattr__(self, "packed", PackedTrees.of(self.boosters))
        else:
            self._check_pack()

    @property
    def _packed(self) -> PackedTrees:
        assert self.packed is not None
        return self.packed

    def _check_pack(self) -> None:
        """A stored pack must give each refit's own margins: checked at a row of zeros, a
        row of ones and a row at a split threshold of each feature (about 10 ms). This
        catches a pack written wrong; a pack edited after registration is caught before,
        by the artifact's digest."""
        features = self.boosters[0].num_features()
        pack = self._packed
        if int(pack.links[:, :, 0].max()) >= features:
            raise ArtifactFormatError("the packed refits read a feature the refits do not")
        probes = [np.zeros(features), np.ones(features), _thresholds(pack, features)]
        for probe in probes:
            x = probe.astype(np.float32)[None, :]
            theirs = [float(b.inplace_predict(x, predict_type="margin")[0]) for b in self.boosters]
            if not np.allclose(pack.margins(probe), theirs, rtol=0, atol=1e-4):
                raise ArtifactFormatError("the packed refits disagree with the refits themselves")

    @classmethod
    def fit(
        cls,
        estimator: xgb.XGBModel,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        refits: int = REFITS,
        seed: int = 0,
    ) -> BoosterBootstrap:
        """Refit ``estimator``'s hyperparameters on ``refits`` resamples of ``X, y``."""
        matrix = np.asarray(X, dtype=np.float64)
        target = np.asarray(y)
        params = {**estimator.get_params(), "n_jobs": 1}
        classifier = isinstance(estimator, xgb.XGBClassifier)
        boosters = []
        for rows in resamples(matrix.shape[0], refits, seed):
            if classifier and np.unique(target[rows]).size < 2:
                continue  # a resample of one class fits no classifier
            refit = type(estimator)(**params).fit(matrix[rows], target[rows])
            boosters.append(refit.get_booster())
        return cls(tuple(boosters), classifier, matrix.shape[0])

    def check_matches(self, model: object) -> None:
        if not isinstance(model, xgb.Booster) or any(
            b.num_features() != model.num_features() for b in self.boosters
        ):
            raise ArtifactFormatError("the refits read another number of features than the model")

    def estimates(self, row: npt.ArrayLike) -> FloatArray:
        """Each refit's estimate for ``row`` (a probability for a classifier)."""
        margins = self._packed.margins(row)
        if not self.classifier:
            return margins
        result: FloatArray = expit(margins)
        return result

    def range_for(self, row: npt.ArrayLike, point: float) -> PatientRange:
        low, high = percentile_range(self.estimates(row))
        return PatientRange(
            low,
            high,
            "probability" if self.classifier else "value",
            "estimate",
            f"{len(self.boosters)} refits on bootstrap resamples of the {self.rows} training rows",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": METHOD,
            "rows": self.rows,
            "classifier": self.classifier,
            "refits": len(self.boosters),
        }


def _thresholds(pack: PackedTrees, features: int) -> FloatArray:
    """A row at each feature's first split threshold found in the pack (0 where none)."""
    row = np.zeros(features)
    inner = pack.links[:, :, 1] != np.arange(pack.links.shape[1])
    for feature in range(features):
        used = inner & (pack.links[:, :, 0] == feature)
        if np.any(used):
            row[feature] = float(pack.numbers[used][0])
    return row
