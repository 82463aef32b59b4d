"""The IWPC pharmacogenetic warfarin dosing algorithm, stored as plain data.

The International Warfarin Pharmacogenetics Consortium (Klein et al., N Engl J Med 2009;
360:753-64, doi:10.1056/NEJMoa0809329, supplementary appendix) published a linear model
of the *square root* of the stable weekly warfarin dose (mg/week, INR 2-3)::

    sqrt(dose) = 5.6044 - 0.2614 * age in decades + 0.0087 * height (cm)
               + 0.0128 * weight (kg) + VKORC1 term + CYP2C9 term + race term
               + 1.1816 * enzyme inducer - 0.5503 * amiodarone

The dose is that linear predictor squared. The categorical inputs (VKORC1 and CYP2C9
genotype, race) are read as one integer code each (:data:`CODES`; code 0 is the
reference, whose term is 0), so that each clinical variable gets one term and one
explanation. Age enters in decades as the IWPC data coded it: ``floor(age / 10)``, 90
years and older counting as 9.

:meth:`IwpcWarfarinModel.terms` returns the per-feature terms on the square-root scale;
the predictor is ``intercept + terms.sum(axis=1)``, additive per feature, which is what
the dose-space explainer (:mod:`explain.dose`) needs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from models.errors import ArtifactFormatError, DoseInputError

FloatArray = npt.NDArray[np.float64]

#: Tag written into :meth:`IwpcWarfarinModel.to_dict` so a reader can refuse other payloads.
FORMAT_TAG = "twinreg.iwpc_warfarin/1"

#: Inputs in the order the card and the model read them.
FEATURES: tuple[str, ...] = (
    "age", "height", "weight", "vkorc1", "cyp2c9", "race", "enzyme_inducer", "amiodarone",
)  # fmt: skip

#: The meaning of each code of the categorical inputs (code 0 is the reference category).
CODES: Mapping[str, tuple[str, ...]] = {
    "vkorc1": ("G/G", "A/G", "A/A", "unknown"),
    "cyp2c9": ("*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3", "unknown"),
    "race": ("White", "Asian", "Black or African American", "missing or mixed"),
}

#: Where the coefficients come from (written into the card and the model file).
SOURCE = (
    "International Warfarin Pharmacogenetics Consortium. Estimation of the warfarin dose "
    "with clinical and pharmacogenetic data. N Engl J Med 2009;360:753-64 "
    "(doi:10.1056/NEJMoa0809329), supplementary appendix: pharmacogenetic dosing algorithm"
)

_BINARY = ("enzyme_inducer", "amiodarone")
_AGE, _HEIGHT, _WEIGHT, _VKORC1, _CYP2C9, _RACE, _INDUCER, _AMIODARONE = range(len(FEATURES))
#: Age in decades as the IWPC coded it: 1 for 10-19 years ... 9 for 90 years and older.
MAX_AGE_DECADE = 9


@dataclass(frozen=True)
class IwpcWarfarinModel:
    """Coefficients of the square root of the weekly dose, one table per categorical input
    (indexed by code, the reference code's entry 0.0)."""

    intercept: float
    age_decade: float
    height_cm: float
    weight_kg: float
    vkorc1: tuple[float, ...]
    cyp2c9: tuple[float, ...]
    race: tuple[float, ...]
    enzyme_inducer: float
    amiodarone: float
    source: str = SOURCE

    def __post_init__(self) -> None:
        scalars = (self.intercept, self.age_decade, self.height_cm, self.weight_kg,
                   self.enzyme_inducer, self.amiodarone)  # fmt: skip
        if not all(_is_number(v) and math.isfinite(v) for v in scalars):
            raise ArtifactFormatError("IWPC coefficients must be finite numbers")
        for name in CODES:
            table = getattr(self, name)
            if (
                not isinstance(table, tuple)
                or len(table) != len(CODES[name])
                or not all(_is_number(v) and math.isfinite(v) for v in table)
            ):
                raise ArtifactFormatError(
                    f"{name} needs {len(CODES[name])} finite coefficients, one per code"
                )
            if table[0] != 0.0:
                raise ArtifactFormatError(f"{name}: the reference code 0 must have coefficient 0")

    @property
    def feature_names(self) -> tuple[str, ...]:
        return FEATURES

    def terms(self, X: npt.ArrayLike) -> FloatArray:
        """Per-row, per-feature terms of the square-root dose (``(n, 8)``); raises
        :class:`~models.errors.DoseInputError` for a value the algorithm cannot read."""
        x = _checked_rows(X)
        decades = np.minimum(np.floor(x[:, _AGE] / 10.0), MAX_AGE_DECADE)
        out = np.empty_like(x)
        out[:, _AGE] = self.age_decade * decades
        out[:, _HEIGHT] = self.height_cm * x[:, _HEIGHT]
        out[:, _WEIGHT] = self.weight_kg * x[:, _WEIGHT]
        out[:, _VKORC1] = np.asarray(self.vkorc1)[x[:, _VKORC1].astype(np.int64)]
        out[:, _CYP2C9] = np.asarray(self.cyp2c9)[x[:, _CYP2C9].astype(np.int64)]
        out[:, _RACE] = np.asarray(self.race)[x[:, _RACE].astype(np.int64)]
        out[:, _INDUCER] = self.enzyme_inducer * x[:, _INDUCER]
        out[:, _AMIODARONE] = self.amiodarone * x[:, _AMIODARONE]
        return out

    def sqrt_dose(self, X: npt.ArrayLike) -> FloatArray:
        """The published linear predictor: the square root of the weekly dose."""
        root: FloatArray = self.intercept + self.terms(X).sum(axis=1)
        if np.any(root <= 0.0):
            raise DoseInputError(
                "the algorithm predicts no positive dose for these inputs: they lie outside "
                "the population it was derived on"
            )
        return root

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        """Weekly warfarin dose in mg/week (the linear predictor squared)."""
        dose: FloatArray = self.sqrt_dose(X) ** 2
        return dose

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in CODES:
            data[name] = list(data[name])
        return {"format": FORMAT_TAG, **data}

    @classmethod
    def from_dict(cls, data: object) -> IwpcWarfarinModel:
        """Read back :meth:`to_dict`; refuses other formats, unknown or missing keys."""
        if not isinstance(data, dict) or data.get("format") != FORMAT_TAG:
            raise ArtifactFormatError(f"not an IWPC warfarin model (format {FORMAT_TAG})")
        fields = set(cls.__dataclass_fields__)
        keys = set(data) - {"format"}
        if keys != fields:
            raise ArtifactFormatError(
                f"IWPC model file: unknown keys {sorted(keys - fields)}, "
                f"missing keys {sorted(fields - keys)}"
            )
        values = dict(data)
        del values["format"]
        for name in CODES:
            if not isinstance(values[name], list):
                raise ArtifactFormatError(f"{name} must be a list of coefficients")
            values[name] = tuple(values[name])
        if not isinstance(values["source"], str):
            raise ArtifactFormatError("source must be a string")
        return cls(**values)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _checked_rows(X: npt.ArrayLike) -> FloatArray:
    try:
        x = np.atleast_2d(np.asarray(X, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise DoseInputError(f"inputs are not numeric: {exc}") from exc
    if x.ndim != 2 or x.shape[1] != len(FEATURES):
        raise DoseInputError(f"expected rows of {len(FEATURES)} inputs {FEATURES}, got {x.shape}")
    if not np.isfinite(x).all():
        raise DoseInputError("inputs contain NaN or infinite values")
    if np.any(x[:, _AGE] < 0) or np.any(x[:, _HEIGHT] <= 0) or np.any(x[:, _WEIGHT] <= 0):
        raise DoseInputError("age must not be negative, height and weight must be positive")
    for column, name in ((_VKORC1, "vkorc1"), (_CYP2C9, "cyp2c9"), (_RACE, "race")):
        codes = x[:, column]
        if np.any(codes != np.floor(codes)) or np.any((codes < 0) | (codes >= len(CODES[name]))):
            raise DoseInputError(f"{name} must be a code 0..{len(CODES[name]) - 1}")
    for name in _BINARY:
        if not np.isin(x[:, FEATURES.index(name)], (0.0, 1.0)).all():
            raise DoseInputError(f"{name} must be 0 or 1")
    return x


#: The published pharmacogenetic algorithm (supplementary appendix of the NEJM paper).
IWPC_PHARMACOGENETIC = IwpcWarfarinModel(
    intercept=5.6044,
    age_decade=-0.2614,
    height_cm=0.0087,
    weight_kg=0.0128,
    vkorc1=(0.0, -0.8677, -1.6974, -0.4854),
    cyp2c9=(0.0, -0.5211, -0.9357, -1.0616, -1.9206, -2.3312, -0.2188),
    race=(0.0, -0.1092, -0.2760, -0.1032),
    enzyme_inducer=1.1816,
    amiodarone=-0.5503,
)
