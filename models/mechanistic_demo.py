"""The four mechanistic demo twins, each with a seeded virtual reference population.

=======================  ==================  ===================  =========================
name                     kind                default output       reads
=======================  ==================  ===================  =========================
vancomycin-auc           pk_vancomycin       ``auc24`` (mg·h/L)   CrCL, weight, regimen
windkessel-map           windkessel          ``map`` (mmHg)       HR, SV, resistance, C
radiotherapy-response    radiotherapy        ``volume_day_180``   tumour, radiobiology, plan
glucose-t1d-tir          glucose_t1d         ``time_in_range``    cohort subject, meals,
                                             (% at 70-180 mg/dL)  bolus and basal insulin
=======================  ==================  ===================  =========================

Mechanistic twins learn nothing, so there is no training split: each twin comes with a
virtual reference population of :data:`POPULATION_ROWS` patients whose covariates are
drawn with a fixed seed in plausible adult ranges (depending on sex and age band where
physiology does), and whose reference "observed" value ``y`` is the twin's own output
times log-normal noise (sigma :data:`NOISE_SIGMA`). A bias audit then compares the
prediction error per subgroup of ``sex`` (0 = male, 1 = female) and ``age_band``
(0 = 18-39, 1 = 40-64, 2 = 65 and over); both are columns of the evaluation set, not
inputs of the twin. The card's envelope is the population's range of each input, and
:attr:`DemoTwin.background` holds :data:`BACKGROUND_ROWS` of its rows for the explainer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from models.card import FeatureSpec, TwinCard, TwinKind
from models.demo_twins import SEED, DemoTwin
from models.mechanistic import GlucoseT1DTwin, RadiotherapyTwin, VancomycinTwin, WindkesselTwin
from models.mechanistic.glucose import virtual_cohort
from models.mechanistic.pk import CRCL_CAP_ML_MIN
from models.mechanistic.windkessel import CHARACTERISTIC_RESISTANCE

POPULATION_ROWS = 300
NOISE_SIGMA = 0.15
BACKGROUND_ROWS = 20
SENSITIVE_ATTRIBUTES: tuple[str, ...] = ("sex", "age_band")
#: The groups of each sensitive attribute in words (``models.group_labels``).
GROUP_LABELS: dict[str, dict[str, str]] = {
    "sex": {"0": "male", "1": "female"},
    "age_band": {"0": "18-39 years", "1": "40-64 years", "2": "65 years and over"},
}

Rng = np.random.Generator
FloatArray = npt.NDArray[np.float64]


class _Twin(Protocol):
    output_names: tuple[str, ...]

    def fit(self) -> _Twin: ...

    def predict_outputs(self, X: npt.ArrayLike, output: str) -> FloatArray: ...


@dataclass(frozen=True)
class _Population:
    """Sampled inputs (card feature order) and the sensitive attributes of each patient."""

    inputs: dict[str, FloatArray]
    sex: FloatArray
    age_band: FloatArray


def _demographics(rng: Rng, n: int) -> tuple[FloatArray, FloatArray]:
    sex = rng.integers(0, 2, n).astype(np.float64)
    age_band = rng.choice(3, n, p=[0.25, 0.4, 0.35]).astype(np.float64)
    return sex, age_band


def _lognormal(
    rng: Rng, median: float, sigma: float, low: float, high: float, n: int
) -> FloatArray:
    values: FloatArray = np.clip(median * np.exp(sigma * rng.standard_normal(n)), low, high)
    return values


PK_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec("creatinine_clearance", "float", "mL/min", 5.0, 200.0,
                "creatinine clearance (Cockcroft-Gault); above 150 mL/min used as 150, "
                "as in the source model (Goti 2018 truncated it at 150)",
                clamp=(5.0, CRCL_CAP_ML_MIN)),
    FeatureSpec("weight", "float", "kg", 30.0, 250.0, "total body weight"),
    FeatureSpec("dose_mg", "float", "mg", 100.0, 4000.0, "vancomycin dose per 1 h infusion"),
    FeatureSpec("interval_h", "float", "h", 6.0, 48.0, "dosing interval"),
)  # fmt: skip

WINDKESSEL_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec("heart_rate", "float", "bpm", 30.0, 200.0, "heart rate"),
    FeatureSpec("stroke_volume", "float", "mL", 10.0, 200.0, "left-ventricular stroke volume"),
    FeatureSpec("peripheral_resistance", "float", "mmHg·s/mL", 0.2, 5.0,
                "peripheral (distal) resistance R_p of the three-element Windkessel; the "
                f"model adds the characteristic aortic resistance R_c = "
                f"{CHARACTERISTIC_RESISTANCE:g} mmHg·s/mL in series, so the total peripheral "
                "resistance (MAP / cardiac output) is R_p + R_c"),
    FeatureSpec("compliance", "float", "mL/mmHg", 0.1, 10.0, "total arterial compliance"),
)  # fmt: skip

RADIOTHERAPY_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec("initial_volume", "float", "cm3", 0.01, 1000.0, "gross tumour volume at start"),
    FeatureSpec("doubling_time", "float", "days", 2.0, 1000.0, "volume doubling time"),
    FeatureSpec("alpha", "float", "1/Gy", 0.01, 1.0, "linear-quadratic alpha"),
    FeatureSpec("alpha_beta", "float", "Gy", 0.5, 30.0, "alpha/beta ratio"),
    FeatureSpec("total_dose", "float", "Gy", 0.0, 100.0, "prescribed total dose"),
    FeatureSpec("n_fractions", "int", "fractions", 1.0, 60.0, "fractions, Monday to Friday"),
)  # fmt: skip


def _pk_population(rng: Rng, n: int) -> _Population:
    sex, age_band = _demographics(rng, n)
    # Creatinine clearance falls with age and is lower in women (Cockcroft-Gault's 0.85).
    crcl_median = np.array([115.0, 90.0, 60.0])[age_band.astype(np.int64)] * (1 - 0.15 * sex)
    crcl = np.clip(crcl_median * np.exp(0.3 * rng.standard_normal(n)), 15.0, 180.0)
    weight = np.clip(np.where(sex == 1, 70.0, 84.0) + 14.0 * rng.standard_normal(n), 40.0, 160.0)
    # Dosed towards an AUC24 of about 500 mg·h/L with the typical clearance, rounded to
    # 250 mg, every 12 h (every 24 h below 60 mL/min), with the spread of real practice.
    interval = np.where(crcl >= 60.0, 12.0, 24.0)
    typical_cl = 4.5 * (crcl / 120.0) ** 0.8
    daily = 500.0 * typical_cl * np.exp(0.2 * rng.standard_normal(n))
    dose = np.clip(np.round(daily * interval / 24.0 / 250.0) * 250.0, 250.0, 2500.0)
    inputs = {"creatinine_clearance": crcl, "weight": weight, "dose_mg": dose}
    inputs["interval_h"] = interval.astype(np.float64)
    return _Population(inputs, sex, age_band)


def _windkessel_population(rng: Rng, n: int) -> _Population:
    sex, age_band = _demographics(rng, n)
    heart_rate = np.clip(72.0 + 11.0 * rng.standard_normal(n), 45.0, 120.0)
    stroke_volume = np.clip(np.where(sex == 1, 62.0, 75.0) + 12.0 * rng.standard_normal(n), 35, 120)
    # Arteries stiffen and resistance rises with age.
    age_factor = 1.0 + 0.08 * age_band
    resistance = _lognormal(rng, 0.95, 0.15, 0.6, 1.6, n) * age_factor
    compliance = _lognormal(rng, 1.8, 0.25, 0.5, 3.5, n) / age_factor
    inputs = {
        "heart_rate": heart_rate,
        "stroke_volume": stroke_volume,
        "peripheral_resistance": resistance,
        "compliance": compliance,
    }
    return _Population(inputs, sex, age_band)


#: Curative schedules (total Gy, fractions): conventional, hypofractionated, escalated.
_SCHEDULES = np.array([[60.0, 30.0], [40.0, 15.0], [70.0, 35.0], [50.0, 25.0], [55.0, 20.0]])


def _radiotherapy_population(rng: Rng, n: int) -> _Population:
    sex, age_band = _demographics(rng, n)
    schedule = _SCHEDULES[rng.integers(0, len(_SCHEDULES), n)]
    inputs = {
        "initial_volume": _lognormal(rng, 30.0, 0.8, 2.0, 300.0, n),
        "doubling_time": _lognormal(rng, 70.0, 0.35, 25.0, 250.0, n),
        "alpha": np.clip(0.05 + 0.015 * rng.standard_normal(n), 0.02, 0.1),
        "alpha_beta": np.clip(10.0 + 2.0 * rng.standard_normal(n), 5.0, 15.0),
        "total_dose": schedule[:, 0].copy(),
        "n_fractions": schedule[:, 1].copy(),
    }
    return _Population(inputs, sex, age_band)


GLUCOSE_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec("subject", "int", "cohort subject", 1.0, 30.0,
                "UVA/Padova virtual subject (simglucose cohort): 1-10 adolescents, "
                "11-20 adults, 21-30 children"),
    FeatureSpec("carbs_g", "float", "g", 0.0, 150.0,
                "carbohydrate of each meal (07:00, 12:00, 18:00)"),
    FeatureSpec("bolus_u", "float", "U", 0.0, 25.0, "rapid-acting insulin with each meal"),
    FeatureSpec("basal_u_per_h", "float", "U/h", 0.0, 5.0, "basal insulin rate"),
)  # fmt: skip

#: The adult virtual subjects (11-20): the population the glucose twin is validated on.
_ADULTS = np.arange(11, 21)


def _age_band(age: FloatArray) -> FloatArray:
    """0 = 18-39, 1 = 40-64, 2 = 65 and over."""
    band: FloatArray = np.digitize(age, [40.0, 65.0]).astype(np.float64)
    return band


def _glucose_population(rng: Rng, n: int) -> _Population:
    """Adult subjects with their own ages (therapy table), meals of 20-120 g, bolus by the
    subject's carbohydrate ratio (rounded to the 0.5 U of a pen), basal near the subject's
    steady-state rate; the cohort records no sex, so it is drawn independently."""
    cohort = virtual_cohort()
    subject = rng.choice(_ADULTS, n)
    index = subject - 1
    sex = rng.integers(0, 2, n).astype(np.float64)
    carbs = np.clip(np.round(_lognormal(rng, 60.0, 0.3, 20.0, 120.0, n) / 5.0) * 5.0, 20, 120)
    dosed = carbs / cohort.carb_ratio[index] * np.exp(0.15 * rng.standard_normal(n))
    bolus = np.clip(np.round(dosed * 2.0) / 2.0, 0.5, 25.0)
    basal = cohort.basal_u_per_h[index] * np.exp(0.1 * rng.standard_normal(n))
    inputs = {
        "subject": subject.astype(np.float64),
        "carbs_g": carbs,
        "bolus_u": bolus,
        "basal_u_per_h": np.round(basal, 2),
    }
    return _Population(inputs, sex, _age_band(cohort.age[index]))


@dataclass(frozen=True)
class _Recipe:
    name: str
    kind: TwinKind
    model: Callable[[], _Twin]
    specs: tuple[FeatureSpec, ...]
    population: Callable[[Rng, int], _Population]
    output: str
    description: str
    outcome: str
    data_categories: tuple[str, ...]
    #: Card entries of this twin alone, added to the shared ones.
    card_extra: Mapping[str, object] = field(default_factory=dict)


RECIPES: tuple[_Recipe, ...] = (
    _Recipe(
        name="vancomycin-auc",
        kind=TwinKind.PK_VANCOMYCIN,
        model=VancomycinTwin,
        specs=PK_SPECS,
        population=_pk_population,
        output="auc24",
        description="Two-compartment vancomycin population PK (Goti et al. 2018), numba RK4",
        outcome="vancomycin exposure at steady state: AUC over 24 h (mg·h/L)",
        data_categories=("demographics", "labs", "medication"),
    ),
    _Recipe(
        name="windkessel-map",
        kind=TwinKind.WINDKESSEL,
        model=WindkesselTwin,
        specs=WINDKESSEL_SPECS,
        population=_windkessel_population,
        output="map",
        description="Three-element Windkessel of the systemic arteries, numba RK4",
        outcome="mean arterial pressure over one steady-state beat (mmHg)",
        data_categories=("vitals", "imaging"),
        card_extra={"characteristic_resistance": CHARACTERISTIC_RESISTANCE},
    ),
    _Recipe(
        name="radiotherapy-response",
        kind=TwinKind.RADIOTHERAPY,
        model=RadiotherapyTwin,
        specs=RADIOTHERAPY_SPECS,
        population=_radiotherapy_population,
        output="volume_day_180",
        description="Logistic tumour growth with linear-quadratic kill per fraction, numba RK4",
        outcome="tumour volume 180 days after the first fraction (cm3)",
        data_categories=("imaging", "history"),
        # Volumes span four orders of magnitude: 10 % off a 500 cm3 tumour is no worse a
        # service than 10 % off a 5 cm3 one, so the bias audit compares relative errors.
        card_extra={"error_scale": "relative"},
    ),
    _Recipe(
        name="glucose-t1d-tir",
        kind=TwinKind.GLUCOSE_T1D,
        model=GlucoseT1DTwin,
        specs=GLUCOSE_SPECS,
        population=_glucose_population,
        output="time_in_range",
        description="UVA/Padova type 1 diabetes model (Dalla Man 2007), numba RK4",
        outcome="time in range 70-180 mg/dL over a day with three meals (% of 24 h)",
        data_categories=("labs", "medication", "history"),
    ),
)


def _build(recipe: _Recipe, rng: Rng) -> DemoTwin:
    model = recipe.model().fit()
    names = tuple(s.name for s in recipe.specs)
    population = recipe.population(rng, POPULATION_ROWS)
    X = np.column_stack([population.inputs[n] for n in names])
    predicted = np.asarray(model.predict_outputs(X, recipe.output), dtype=np.float64)
    observed = predicted * np.exp(NOISE_SIGMA * rng.standard_normal(POPULATION_ROWS))
    evaluation = pd.DataFrame(X, columns=list(names))
    evaluation["sex"] = population.sex
    evaluation["age_band"] = population.age_band
    evaluation["y"] = observed
    evaluation = evaluation.astype("float64")
    pick = np.sort(rng.choice(POPULATION_ROWS, BACKGROUND_ROWS, replace=False))
    card = TwinCard(
        kind=recipe.kind,
        description=recipe.description,
        outcome=recipe.outcome,
        intended_purposes=("treatment", "research"),
        features=recipe.specs,
        envelope={n: (float(X[:, j].min()), float(X[:, j].max())) for j, n in enumerate(names)},
        sensitive_attributes=SENSITIVE_ATTRIBUTES,
        data_categories=recipe.data_categories,
        extra={
            "output": recipe.output,
            "outputs": list(model.output_names),
            "reference_population": "virtual",
            "group_labels": {k: dict(v) for k, v in GROUP_LABELS.items()},
            "population_rows": POPULATION_ROWS,
            "noise_sigma": NOISE_SIGMA,
            "seed": SEED,
            **recipe.card_extra,
        },
    )
    return DemoTwin(
        name=recipe.name,
        model=model,
        card=card,
        evaluation=evaluation,
        background=np.ascontiguousarray(X[pick]),
    )


def train_mechanistic_twins(progress: Callable[[str], None] | None = None) -> list[DemoTwin]:
    """Build the four mechanistic demo twins and their reference populations (seeded)."""
    twins: list[DemoTwin] = []
    for offset, recipe in enumerate(RECIPES):
        twin = _build(recipe, np.random.default_rng(SEED + offset))
        if progress is not None:
            progress(f"built {twin.name} ({twin.card.kind.value})")
        twins.append(twin)
    return twins
