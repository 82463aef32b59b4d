"""The twin card: everything a version declares about itself besides its weights.

A card is plain data (JSON-serialisable through :meth:`TwinCard.to_dict`) so that the
registry can store it next to the artifact and governance can reason about purposes,
data categories and the population envelope without loading the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from models.errors import CardError

FeatureType = Literal["float", "int", "binary"]

#: Data categories a twin may read; consents are granted per category.
DATA_CATEGORIES: frozenset[str] = frozenset(
    {"demographics", "vitals", "labs", "genomic", "medication", "imaging", "history"}
)

#: How the bias audit measures a value-predicting twin's error (``extra["error_scale"]``):
#: ``absolute`` (the default, also for every card stored without the key), ``relative``
#: (error / observed value, for outputs whose error grows with their size) or ``sqrt``
#: (``|sqrt(pred) - sqrt(obs)|``, for a model fitted on the square root of its output,
#: whose errors are even there and grow with the square root of the output elsewhere).
ERROR_SCALES: tuple[str, ...] = ("absolute", "relative", "sqrt")


class TwinKind(StrEnum):
    """The model families twinreg knows how to store, load and explain."""

    LOGISTIC_REGRESSION = "logistic_regression"
    XGBOOST_CLASSIFIER = "xgboost_classifier"
    XGBOOST_REGRESSOR = "xgboost_regressor"
    RANDOM_FOREST_CLASSIFIER = "random_forest_classifier"
    RANDOM_FOREST_REGRESSOR = "random_forest_regressor"
    COX_PH = "cox_ph"
    PK_VANCOMYCIN = "pk_vancomycin"
    WINDKESSEL = "windkessel"
    RADIOTHERAPY = "radiotherapy"
    GLUCOSE_T1D = "glucose_t1d"
    #: A published dosing algorithm: a linear model of the square root of the weekly
    #: dose, squared (the IWPC pharmacogenetic warfarin algorithm).
    IWPC_WARFARIN = "iwpc_warfarin"

    @property
    def prediction_kind(self) -> Literal["probability", "risk_score", "value"]:
        """What ``prediction.value`` means for this kind."""
        if self in (
            TwinKind.XGBOOST_CLASSIFIER,
            TwinKind.LOGISTIC_REGRESSION,
            TwinKind.RANDOM_FOREST_CLASSIFIER,
        ):
            return "probability"
        if self is TwinKind.COX_PH:
            return "risk_score"
        return "value"

    @property
    def output_space(self) -> str:
        """The space in which the SHAP attributions add up."""
        if self in (TwinKind.XGBOOST_CLASSIFIER, TwinKind.LOGISTIC_REGRESSION):
            return "log_odds"
        if self is TwinKind.RANDOM_FOREST_CLASSIFIER:
            return "probability"
        if self is TwinKind.COX_PH:
            return "log_partial_hazard"
        if self is TwinKind.IWPC_WARFARIN:
            return "dose_mg_per_week"
        return "raw"

    @property
    def is_float32(self) -> bool:
        """XGBoost computes in float32; the additivity tolerance follows."""
        return self in (TwinKind.XGBOOST_CLASSIFIER, TwinKind.XGBOOST_REGRESSOR)

    @property
    def is_mechanistic(self) -> bool:
        """Physiology ODE twins: the prediction is a named output chosen per request.

        Their card names the default output in ``extra["output"]`` and every output a
        request may choose in ``extra["outputs"]``.
        """
        return self in (
            TwinKind.PK_VANCOMYCIN,
            TwinKind.WINDKESSEL,
            TwinKind.RADIOTHERAPY,
            TwinKind.GLUCOSE_T1D,
        )


@dataclass(frozen=True)
class FeatureSpec:
    """One input feature: its type, unit and the range the schema allows at all.

    ``clamp`` (``None``: the value is used as given) is the range the model uses the value
    in: a value of ``[minimum, maximum]`` outside it is used as its nearest end, as the
    source model truncated it (vancomycin: creatinine clearance above 150 mL/min counts
    as 150). Cards stored without the key have no clamp.
    """

    name: str
    dtype: FeatureType
    unit: str
    minimum: float
    maximum: float
    description: str = ""
    clamp: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise CardError("feature name must not be empty")
        if not self.minimum <= self.maximum:
            raise CardError(f"feature {self.name!r}: minimum must not exceed maximum")
        if self.clamp is not None and not (
            self.minimum <= self.clamp[0] < self.clamp[1] <= self.maximum
        ):
            raise CardError(f"feature {self.name!r}: clamp must lie within [minimum, maximum]")

    def to_dict(self) -> dict[str, Any]:
        """JSON form; ``clamp`` only when set (cards without one keep their old form)."""
        out: dict[str, Any] = {
            "name": self.name,
            "dtype": self.dtype,
            "unit": self.unit,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "description": self.description,
        }
        if self.clamp is not None:
            out["clamp"] = list(self.clamp)
        return out

    @classmethod
    def from_dict(cls, f: Mapping[str, Any]) -> FeatureSpec:
        clamp = f.get("clamp")
        return cls(
            name=str(f["name"]),
            dtype=f["dtype"],
            unit=str(f["unit"]),
            minimum=float(f["minimum"]),
            maximum=float(f["maximum"]),
            description=str(f.get("description", "")),
            clamp=None if clamp is None else (float(clamp[0]), float(clamp[1])),
        )


@dataclass(frozen=True)
class TwinCard:
    """Metadata of one twin model version (the 'model card')."""

    kind: TwinKind
    description: str
    outcome: str
    intended_purposes: tuple[str, ...]
    features: tuple[FeatureSpec, ...]
    #: Per-feature (low, high) range of the population the version was validated on.
    envelope: dict[str, tuple[float, float]]
    sensitive_attributes: tuple[str, ...]
    data_categories: tuple[str, ...]
    #: Operating threshold on the probability, for classifiers.
    threshold: float | None = None
    #: Horizon (in ``horizon_unit``) at which survival probabilities are reported.
    horizon: float | None = None
    horizon_unit: str = "days"
    extra: dict[str, Any] = field(default_factory=dict)

    def outside_envelope(self, features: Mapping[str, float]) -> list[str]:
        """The features outside the validated envelope, as ranges only (raw values never
        enter an audit record); missing or non-finite values are not judged here."""
        out = []
        for name, (low, high) in self.envelope.items():
            value = features.get(name)
            if value is None or not math.isfinite(value):
                continue
            if value < low or value > high:
                out.append(f"{name} not in [{low:g}, {high:g}]")
        return out

    def __post_init__(self) -> None:
        if not self.intended_purposes:
            raise CardError("intended_purposes must name at least one purpose")
        if not self.features:
            raise CardError("features must not be empty")
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise CardError("feature names must be unique")
        unknown = set(self.envelope) - set(names)
        if unknown:
            raise CardError(f"envelope names unknown features: {sorted(unknown)}")
        bad = set(self.data_categories) - DATA_CATEGORIES
        if bad or not self.data_categories:
            raise CardError(
                f"data_categories must be a non-empty subset of {sorted(DATA_CATEGORIES)}"
            )
        if self.kind.prediction_kind == "probability" and self.threshold is None:
            raise CardError("classifiers need an operating threshold")
        if self.kind is TwinKind.COX_PH and self.horizon is None:
            raise CardError("survival twins need a horizon")
        if self.kind.is_mechanistic:
            self._check_outputs()
        self._check_error_scale()
        note = self.extra.get("evaluation_note")
        if note is not None and not (isinstance(note, str) and note.strip()):
            raise CardError('extra["evaluation_note"] must be a non-empty text when present')

    def _check_outputs(self) -> None:
        outputs = self.extra.get("outputs")
        if (
            not isinstance(outputs, list | tuple)
            or not outputs
            or not all(isinstance(o, str) and o for o in outputs)
        ):
            raise CardError('mechanistic twins need extra["outputs"]: a non-empty list of names')
        if len(set(outputs)) != len(outputs):
            raise CardError('extra["outputs"] must not repeat a name')
        if self.extra.get("output") not in outputs:
            raise CardError(
                f'extra["output"] must be one of extra["outputs"] {list(outputs)}, '
                f"got {self.extra.get('output')!r}"
            )

    def _check_error_scale(self) -> None:
        if "error_scale" not in self.extra:
            return
        if self.extra["error_scale"] not in ERROR_SCALES:
            raise CardError(
                f'extra["error_scale"] must be one of {list(ERROR_SCALES)}, '
                f"got {self.extra['error_scale']!r}"
            )
        if self.kind.prediction_kind != "value":
            raise CardError(
                'extra["error_scale"] applies only to twins that predict a value '
                "(regressors and mechanistic twins), not to classifiers or survival twins"
            )

    @property
    def error_scale(self) -> str:
        """The scale on which the bias audit compares prediction errors between groups."""
        return str(self.extra.get("error_scale", "absolute"))

    @property
    def evaluation_note(self) -> str | None:
        """What the evaluation set is and what it can show, when the card says so (a set
        simulated from the model itself checks the implementation only); validation
        reports, and so dossiers, carry it among their notes."""
        note = self.extra.get("evaluation_note")
        return None if note is None else str(note)

    @property
    def default_output(self) -> str | None:
        """The output a mechanistic twin predicts unless a request names another."""
        return str(self.extra["output"]) if self.kind.is_mechanistic else None

    @property
    def outputs(self) -> tuple[str, ...]:
        """Every output a request may choose (empty for non-mechanistic kinds)."""
        return tuple(str(o) for o in self.extra["outputs"]) if self.kind.is_mechanistic else ()

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def feature(self, name: str) -> FeatureSpec:
        for spec in self.features:
            if spec.name == name:
                return spec
        raise CardError(f"unknown feature {name!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "description": self.description,
            "outcome": self.outcome,
            "intended_purposes": list(self.intended_purposes),
            "features": [f.to_dict() for f in self.features],
            "envelope": {k: [lo, hi] for k, (lo, hi) in self.envelope.items()},
            "sensitive_attributes": list(self.sensitive_attributes),
            "data_categories": list(self.data_categories),
            "threshold": self.threshold,
            "horizon": self.horizon,
            "horizon_unit": self.horizon_unit,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TwinCard:
        try:
            return cls(
                kind=TwinKind(data["kind"]),
                description=str(data.get("description", "")),
                outcome=str(data["outcome"]),
                intended_purposes=tuple(str(p) for p in data["intended_purposes"]),
                features=tuple(FeatureSpec.from_dict(f) for f in data["features"]),
                envelope={
                    str(k): (float(v[0]), float(v[1])) for k, v in data.get("envelope", {}).items()
                },
                sensitive_attributes=tuple(str(s) for s in data["sensitive_attributes"]),
                data_categories=tuple(str(c) for c in data["data_categories"]),
                threshold=None if data.get("threshold") is None else float(data["threshold"]),
                horizon=None if data.get("horizon") is None else float(data["horizon"]),
                horizon_unit=str(data.get("horizon_unit", "days")),
                extra=dict(data.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise CardError(f"malformed twin card: {exc!r}") from exc
