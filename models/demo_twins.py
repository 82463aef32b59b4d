"""The four demo twins, trained on real bundled clinical data in a few seconds.

=========================  ====================  ==========================  ===========
name                       kind                  data / outcome              sensitive
=========================  ====================  ==========================  ===========
whas500-mortality          XGBoost classifier    WHAS500, death in follow-up gender
whas500-mortality-logit    logistic regression   WHAS500, death in follow-up gender
gbsg2-recurrence           Cox PH (5 years)      GBSG2, recurrence-free      menostat
diabetes-progression       random forest regr.   diabetes, progression       sex
=========================  ====================  ==========================  ===========

Seeds are fixed and the held-out split (30 %) is stratified, so every run yields the same
twins. :attr:`DemoTwin.model` is in the form :func:`models.formats.save_model` takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from models import datasets
from models.card import FeatureSpec, FeatureType, TwinCard, TwinKind
from models.cox import CoxLinearModel
from models.uncertainty import (
    BoosterBootstrap,
    CoxBootstrap,
    LogisticCovariance,
    ResidualRange,
    Uncertainty,
)

SEED = 20240531
HELD_OUT_FRACTION = 0.3
BACKGROUND_ROWS = 100
GBSG2_HORIZON_DAYS = 1826.0


@dataclass(frozen=True, eq=False)
class DemoTwin:
    """One trained demo twin with its card, held-out evaluation set and background rows."""

    name: str
    model: object
    card: TwinCard
    #: Held-out rows: feature columns (sensitive attributes among them) and the outcome:
    #: ``y`` for classifiers and regressors, ``time`` and ``event`` for survival twins.
    evaluation: pd.DataFrame
    #: Up to :data:`BACKGROUND_ROWS` training rows in card feature order, for explainers.
    background: npt.NDArray[np.float64]
    #: How each patient's range is found (:mod:`models.uncertainty`); None: no range.
    uncertainty: Uncertainty | None = None


def _spec(
    name: str, dtype: FeatureType, unit: str, low: float, high: float, text: str
) -> FeatureSpec:
    return FeatureSpec(name, dtype, unit, float(low), float(high), text)


def _binary(name: str, text: str) -> FeatureSpec:
    return FeatureSpec(name, "binary", "", 0.0, 1.0, text)


WHAS500_SPECS: tuple[FeatureSpec, ...] = (
    _spec("age", "int", "years", 18, 120, "age at hospital admission"),
    _binary("gender", "0 = male, 1 = female"),
    _spec("hr", "float", "beats/min", 20, 300, "initial heart rate"),
    _spec("sysbp", "float", "mmHg", 40, 300, "initial systolic blood pressure"),
    _spec("diasbp", "float", "mmHg", 0, 250, "initial diastolic blood pressure"),
    _spec("bmi", "float", "kg/m2", 10, 80, "body mass index"),
    _binary("cvd", "history of cardiovascular disease"),
    _binary("afb", "atrial fibrillation"),
    _binary("sho", "cardiogenic shock"),
    _binary("chf", "congestive heart complications"),
    _binary("av3", "complete heart block"),
    _binary("miord", "MI order: 0 = first, 1 = recurrent"),
    _binary("mitype", "MI type: 0 = non Q-wave, 1 = Q-wave"),
)

GBSG2_SPECS: tuple[FeatureSpec, ...] = (
    _spec("age", "int", "years", 18, 100, "age at diagnosis"),
    _binary("menostat", "menopausal status: 0 = pre, 1 = post"),
    _binary("horTh", "hormonal therapy: 0 = no, 1 = yes"),
    _spec("tsize", "float", "mm", 1, 250, "tumour size"),
    _spec("tgrade", "int", "grade", 1, 3, "tumour grade I..III"),
    _spec("pnodes", "int", "count", 0, 100, "number of positive lymph nodes"),
    _spec("progrec", "float", "fmol/mg", 0, 5000, "progesterone receptor"),
    _spec("estrec", "float", "fmol/mg", 0, 5000, "oestrogen receptor"),
)

DIABETES_SPECS: tuple[FeatureSpec, ...] = (
    _spec("age", "int", "years", 18, 100, "age at baseline"),
    _binary("sex", "sex, recoded 0/1 from the source's 1/2"),
    _spec("bmi", "float", "kg/m2", 10, 80, "body mass index"),
    _spec("bp", "float", "mmHg", 40, 200, "average blood pressure"),
    _spec("tc", "float", "mg/dL", 50, 600, "total serum cholesterol"),
    _spec("ldl", "float", "mg/dL", 10, 500, "low-density lipoproteins"),
    _spec("hdl", "float", "mg/dL", 5, 200, "high-density lipoproteins"),
    _spec("tch", "float", "ratio", 0.5, 20, "total cholesterol / HDL"),
    _spec("ltg", "float", "log(mg/dL)", 1, 9, "log of serum triglycerides"),
    _spec("glu", "float", "mg/dL", 30, 500, "blood sugar"),
)


def _split(
    n_rows: int, strata: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    from sklearn.model_selection import train_test_split

    train, held_out = train_test_split(
        np.arange(n_rows), test_size=HELD_OUT_FRACTION, random_state=SEED, stratify=strata
    )
    return np.sort(train), np.sort(held_out)


def _envelope(train: pd.DataFrame, names: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    return {n: (float(train[n].min()), float(train[n].max())) for n in names}


def _background(train: pd.DataFrame, names: tuple[str, ...]) -> npt.NDArray[np.float64]:
    rows: npt.NDArray[np.float64] = train[list(names)].to_numpy(dtype=np.float64)
    if len(rows) <= BACKGROUND_ROWS:
        return rows
    pick = np.random.default_rng(SEED).choice(len(rows), BACKGROUND_ROWS, replace=False)
    chosen: npt.NDArray[np.float64] = np.ascontiguousarray(rows[np.sort(pick)])
    return chosen


def _evaluation(
    held: pd.DataFrame, names: tuple[str, ...], outcome: dict[str, str]
) -> pd.DataFrame:
    frame = held[list(names)].copy()
    for target, source in outcome.items():
        frame[target] = held[source].to_numpy(dtype=np.float64)
    return frame.reset_index(drop=True).astype("float64")


def _whas500_twins() -> list[DemoTwin]:
    import xgboost as xgb
    from sklearn.linear_model import LogisticRegression

    data = datasets.load_whas500()
    names = tuple(s.name for s in WHAS500_SPECS)
    train_idx, held_idx = _split(len(data), data["event"].to_numpy(dtype=np.int64))
    train, held = data.iloc[train_idx], data.iloc[held_idx]
    features, y = train[list(names)], train["event"].to_numpy(dtype=np.int64)

    booster_model = xgb.XGBClassifier(
        n_estimators=300, max_depth=3, learning_rate=0.03, subsample=0.8,
        colsample_bytree=0.8, min_child_weight=2, reg_lambda=1.0, tree_method="hist",
        random_state=SEED, n_jobs=2,
    ).fit(features, y)  # fmt: skip
    logit = LogisticRegression(max_iter=10_000, C=1.0).fit(features.to_numpy(dtype=np.float64), y)
    booster_refits = BoosterBootstrap.fit(
        booster_model, features.to_numpy(np.float64), y, seed=SEED
    )
    logit_covariance = LogisticCovariance.of_fit(logit, features.to_numpy(dtype=np.float64))

    envelope = _envelope(train, names)

    def card(kind: TwinKind, description: str) -> TwinCard:
        return TwinCard(
            kind=kind,
            description=description,
            outcome="death from any cause during follow-up (up to 6.5 years) after an acute MI",
            intended_purposes=("treatment", "research", "quality-improvement"),
            features=WHAS500_SPECS,
            envelope=dict(envelope),
            sensitive_attributes=("gender",),
            data_categories=("demographics", "vitals", "history"),
            threshold=0.5,
            extra={"dataset": "WHAS500", "train_rows": len(train), "seed": SEED},
        )

    evaluation = _evaluation(held, names, {"y": "event"})
    background = _background(train, names)
    return [
        DemoTwin(
            name="whas500-mortality",
            model=booster_model.get_booster(),
            card=card(
                TwinKind.XGBOOST_CLASSIFIER,
                "Gradient-boosted trees (300) for mortality after heart attack",
            ),
            evaluation=evaluation,
            background=background,
            uncertainty=booster_refits,
        ),
        DemoTwin(
            name="whas500-mortality-logit",
            model=logit,
            card=card(
                TwinKind.LOGISTIC_REGRESSION,
                "Logistic regression for mortality after heart attack",
            ),
            evaluation=evaluation.copy(),
            background=background.copy(),
            uncertainty=logit_covariance,
        ),
    ]


def _gbsg2_twin() -> DemoTwin:
    data = datasets.load_gbsg2()
    names = tuple(s.name for s in GBSG2_SPECS)
    train_idx, held_idx = _split(len(data), data["event"].to_numpy(dtype=np.int64))
    train, held = data.iloc[train_idx], data.iloc[held_idx]
    model = CoxLinearModel.fit(
        train[list(names)].to_numpy(dtype=np.float64),
        train["time"].to_numpy(dtype=np.float64),
        train["event"].to_numpy(dtype=bool),
        feature_names=names,
        horizon=GBSG2_HORIZON_DAYS,
    )
    card = TwinCard(
        kind=TwinKind.COX_PH,
        description="Cox proportional-hazards model of recurrence-free survival",
        outcome="recurrence or death within 5 years of primary node-positive breast cancer",
        intended_purposes=("research", "treatment"),
        features=GBSG2_SPECS,
        envelope=_envelope(train, names),
        sensitive_attributes=("menostat",),
        data_categories=("demographics", "labs", "history"),
        horizon=GBSG2_HORIZON_DAYS,
        horizon_unit="days",
        extra={
            "dataset": "GBSG2",
            "train_rows": len(train),
            "seed": SEED,
            "group_labels": {"menostat": {"0": "pre-menopausal", "1": "post-menopausal"}},
        },
    )
    return DemoTwin(
        name="gbsg2-recurrence",
        model=model,
        card=card,
        evaluation=_evaluation(held, names, {"time": "time", "event": "event"}),
        background=_background(train, names),
        uncertainty=CoxBootstrap.fit(
            model,
            train[list(names)].to_numpy(dtype=np.float64),
            train["time"].to_numpy(dtype=np.float64),
            train["event"].to_numpy(dtype=bool),
            seed=SEED,
        ),
    )


def _diabetes_twin() -> DemoTwin:
    from sklearn.ensemble import RandomForestRegressor

    data = datasets.load_diabetes()
    names = tuple(s.name for s in DIABETES_SPECS)
    quartile = pd.qcut(data["progression"], 4, labels=False).to_numpy(dtype=np.int64)
    train_idx, held_idx = _split(len(data), quartile)
    train, held = data.iloc[train_idx], data.iloc[held_idx]
    forest = RandomForestRegressor(
        n_estimators=100, max_depth=6, min_samples_leaf=3, random_state=SEED, n_jobs=1
    ).fit(train[list(names)].to_numpy(dtype=np.float64), train["progression"].to_numpy())
    card = TwinCard(
        kind=TwinKind.RANDOM_FOREST_REGRESSOR,
        description="Random forest (100 trees) predicting diabetes progression after one year",
        outcome="quantitative measure of disease progression one year after baseline",
        intended_purposes=("research", "treatment"),
        features=DIABETES_SPECS,
        envelope=_envelope(train, names),
        sensitive_attributes=("sex",),
        data_categories=("demographics", "vitals", "labs"),
        extra={"dataset": "sklearn diabetes", "train_rows": len(train), "seed": SEED},
    )
    return DemoTwin(
        name="diabetes-progression",
        model=forest,
        card=card,
        evaluation=_evaluation(held, names, {"y": "progression"}),
        background=_background(train, names),
        uncertainty=ResidualRange.of_forest(
            forest,
            train[list(names)].to_numpy(dtype=np.float64),
            train["progression"].to_numpy(dtype=np.float64),
        ),
    )


def train_demo_twins(progress: Callable[[str], None] | None = None) -> list[DemoTwin]:
    """Train the four demo twins (a few seconds in all), reporting each by name."""
    twins: list[DemoTwin] = []
    steps: list[Callable[[], list[DemoTwin]]] = [
        _whas500_twins,
        lambda: [_gbsg2_twin()],
        lambda: [_diabetes_twin()],
    ]
    for step in steps:
        for twin in step():
            if progress is not None:
                progress(f"trained {twin.name} ({twin.card.kind.value})")
            twins.append(twin)
    return twins
