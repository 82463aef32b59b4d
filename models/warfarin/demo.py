"""The IWPC warfarin dosing twin of the demo: the published algorithm, nothing trained.

Its evaluation set and background are simulated from the algorithm itself
(:mod:`models.warfarin.population`): they check the implementation only, and its card
says so (``extra["evaluation_note"]``, which the validation dossier carries too).
"""

from __future__ import annotations

import numpy as np

from models.card import FeatureSpec, TwinCard, TwinKind
from models.demo_twins import BACKGROUND_ROWS, SEED, DemoTwin
from models.warfarin.iwpc import CODES, FEATURES, IWPC_PHARMACOGENETIC, MAX_AGE_DECADE, SOURCE
from models.warfarin.population import RESIDUAL_SD, simulate_covariates, simulate_doses

NAME = "iwpc-warfarin"
EVALUATION_ROWS = 1000

EVALUATION_NOTE = (
    f"the evaluation set ({EVALUATION_ROWS} patients) is simulated from the published IWPC "
    "algorithm itself (seeded covariates, observed dose = (predicted square-root dose + "
    f"N(0, {RESIDUAL_SD:g}))^2): it checks the implementation only (coefficients, input "
    "coding, squaring, explanations, governance), not how well the algorithm doses real "
    "patients, and its bias audit cannot reveal a real disparity between races, since "
    "every group is simulated from the same model. External evaluations found larger "
    "dosing errors in Black or African American patients than in other groups."
)


def _codes(name: str) -> str:
    return ", ".join(f"{i} = {label}" for i, label in enumerate(CODES[name]))


SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "age", "int", "years", 18.0, 110.0,
        f"age; the algorithm reads decades, floor(age / 10), {MAX_AGE_DECADE} from 90 years",
    ),
    FeatureSpec("height", "float", "cm", 120.0, 220.0, "height"),
    FeatureSpec("weight", "float", "kg", 30.0, 250.0, "body weight"),
    FeatureSpec(
        "vkorc1", "int", "code", 0.0, 3.0, f"VKORC1 -1639G>A (rs9923231): {_codes('vkorc1')}"
    ),
    FeatureSpec("cyp2c9", "int", "code", 0.0, 6.0, f"CYP2C9 genotype: {_codes('cyp2c9')}"),
    FeatureSpec("race", "int", "code", 0.0, 3.0, f"race as the IWPC coded it: {_codes('race')}"),
    FeatureSpec(
        "enzyme_inducer", "binary", "", 0.0, 1.0,
        "takes carbamazepine, phenytoin, rifampin or rifampicin",
    ),
    FeatureSpec("amiodarone", "binary", "", 0.0, 1.0, "takes amiodarone"),
)  # fmt: skip


def _card(envelope: dict[str, tuple[float, float]]) -> TwinCard:
    return TwinCard(
        kind=TwinKind.IWPC_WARFARIN,
        description=(
            "IWPC pharmacogenetic warfarin dosing algorithm: the published linear model of "
            "the square root of the weekly dose, squared to mg/week"
        ),
        outcome="stable weekly warfarin maintenance dose (mg/week) reaching an INR of 2-3",
        intended_purposes=("treatment", "research"),
        features=SPECS,
        envelope=envelope,
        sensitive_attributes=("race",),
        data_categories=("demographics", "vitals", "medication", "genomic"),
        extra={
            "source": SOURCE,
            "output_unit": "mg/week",
            "codes": {name: list(labels) for name, labels in CODES.items()},
            "explanation": (
                "exact interventional Shapley values of the weekly dose in mg/week (output "
                "space dose_mg_per_week) against the background rows: the base value is "
                "their mean dose and the contributions add up to the patient's dose"
            ),
            "evaluation_note": EVALUATION_NOTE,
            "error_scale": "sqrt",
            "error_scale_why": (
                "the algorithm is a least-squares fit of the square root of the dose, where "
                "its errors have one spread; in mg/week they grow with the dose, so groups "
                "needing lower doses (Asian patients, mostly through VKORC1) would show "
                "smaller MAE and larger relative errors under an equally faithful model"
            ),
            "residual_sd_sqrt_dose": RESIDUAL_SD,
            "evaluation_rows": EVALUATION_ROWS,
            "seed": SEED,
        },
    )


def warfarin_twin() -> DemoTwin:
    """The IWPC warfarin twin with its simulated evaluation set and background."""
    rng = np.random.default_rng([SEED, 14])
    evaluation = simulate_covariates(EVALUATION_ROWS, rng)
    evaluation["y"] = simulate_doses(IWPC_PHARMACOGENETIC, evaluation, rng)
    background = simulate_covariates(BACKGROUND_ROWS, rng).to_numpy(dtype=np.float64)
    envelope = {
        name: (float(evaluation[name].min()), float(evaluation[name].max())) for name in FEATURES
    }
    return DemoTwin(
        name=NAME,
        model=IWPC_PHARMACOGENETIC,
        card=_card(envelope),
        evaluation=evaluation,
        background=np.ascontiguousarray(background),
    )
