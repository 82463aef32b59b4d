"""Virtual cohorts: reproducible from the seed, any range drawn alone equals the same range
of the whole, covariates in the twin's ranges, etas with the prior's variability, and
cohorts of given patients."""

from __future__ import annotations

import numpy as np
import pytest

from models.dosing.prior import OMEGA, cockcroft_gault
from models.trials import CohortPrior, TrialInputError, draw, from_patients
from models.trials.cohort import BLOCK, CockcroftGault, CreatinineClearance
from models.trials.distributions import LogNormal, Normal, Uniform


def test_the_same_seed_gives_the_same_cohort_and_another_seed_another() -> None:
    prior = CohortPrior(size=5_000, seed=7)
    first, again = draw(prior), draw(prior)
    assert first.digest() == again.digest()
    np.testing.assert_array_equal(first.eta, again.eta)
    assert draw(CohortPrior(size=5_000, seed=8)).digest() != first.digest()
    assert first.source == {"prior": prior.as_dict()}


def test_a_range_drawn_alone_equals_that_range_of_the_whole_cohort_across_blocks() -> None:
    prior = CohortPrior(size=BLOCK + 3_000, seed=11, dialysis_fraction=0.2)
    whole = draw(prior)
    start, stop = BLOCK - 1_000, BLOCK + 2_000
    part = draw(prior, start, stop)
    assert part.digest() == whole.slice(start, stop).digest()
    for name, column in part.extra.items():
        np.testing.assert_array_equal(column, whole.extra[name][start:stop])
    with pytest.raises(TrialInputError):
        draw(prior, 10, 10)


def test_covariates_follow_cockcroft_gault_within_the_twins_ranges() -> None:
    cohort = draw(CohortPrior(size=20_000, seed=3))
    assert cohort.weight_kg.min() >= 40.0 and cohort.weight_kg.max() <= 180.0
    assert cohort.creatinine_clearance.min() >= 5.0
    assert cohort.creatinine_clearance.max() <= 150.0
    for i in range(0, 20_000, 2_500):
        expected = cockcroft_gault(
            float(cohort.extra["creatinine_mg_dl"][i]),
            float(cohort.extra["age_years"][i]),
            float(cohort.weight_kg[i]),
            bool(cohort.extra["female"][i]),
        )
        assert cohort.creatinine_clearance[i] == pytest.approx(max(expected, 5.0), rel=1e-12)
    female = cohort.extra["female"].mean()
    assert abs(female - 0.45) < 0.02  # 20 000 draws: SD 0.0035


def test_the_etas_have_the_priors_variability_and_parameters_its_covariate_model() -> None:
    cohort = draw(CohortPrior(size=200_000, seed=5, renal=CreatinineClearance(Uniform(30, 150))))
    np.testing.assert_allclose(cohort.eta.std(axis=0), OMEGA, rtol=0.01)
    np.testing.assert_allclose(cohort.eta.mean(axis=0), 0.0, atol=0.01)
    assert cohort.creatinine_clearance.min() >= 30 and cohort.creatinine_clearance.max() <= 150
    cl, v1, q, v2 = cohort.slice(0, 50).kinetic_parameters()
    crcl, w, eta = cohort.creatinine_clearance[:50], cohort.weight_kg[:50], cohort.eta[:50]
    np.testing.assert_allclose(cl, 4.5 * (crcl / 120.0) ** 0.8 * np.exp(eta[:, 0]), rtol=1e-12)
    np.testing.assert_allclose(v1, 58.4 * w / 70.0 * np.exp(eta[:, 1]), rtol=1e-12)
    np.testing.assert_allclose(v2, 38.4 * np.exp(eta[:, 2]), rtol=1e-12)
    np.testing.assert_allclose(q, 6.5)


def test_dialysis_patients_get_the_dialysis_factors() -> None:
    cohort = from_patients([70.0, 70.0], [120.0, 120.0], dialysis=[0, 1], eta=np.zeros((2, 3)))
    cl, v1, _, _ = cohort.kinetic_parameters()
    assert cl.tolist() == pytest.approx([4.5, 4.5 * 0.7])
    assert v1.tolist() == pytest.approx([58.4, 58.4 * 0.5])


def test_truncated_distributions_stay_in_range_and_keep_their_centre() -> None:
    u = np.random.default_rng(0).random(100_000)
    normal = Normal(80, 20, 40, 180).quantile(u)
    assert normal.min() >= 40 and normal.max() <= 180
    assert abs(np.median(normal) - 80.0) < 1.0
    lognormal = LogNormal(0.9, 0.4, 0.3, 8.0).quantile(u)
    assert abs(np.median(lognormal) - 0.9) < 0.02


def test_a_cohort_of_given_patients_keeps_their_order_and_given_etas() -> None:
    etas = np.array([[0.1, -0.2, 0.3], [0.0, 0.0, 0.0]])
    cohort = from_patients([60.0, 90.0], [80.0, 40.0], eta=etas)
    assert len(cohort) == 2
    np.testing.assert_array_equal(cohort.eta, etas)
    drawn = from_patients([60.0, 90.0], [80.0, 40.0], seed=4)
    assert drawn.source == {"patients": 2, "eta": "drawn", "seed": 4}
    assert drawn.digest() == from_patients([60.0, 90.0], [80.0, 40.0], seed=4).digest()
    assert drawn.digest() != cohort.digest()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"weight_kg": [20.0], "creatinine_clearance": [80.0]}, "weight_kg"),
        ({"weight_kg": [70.0], "creatinine_clearance": [float("nan")]}, "creatinine_clearance"),
        ({"weight_kg": [70.0, 80.0], "creatinine_clearance": [80.0]}, "creatinine_clearance"),
        ({"weight_kg": [], "creatinine_clearance": []}, "weight_kg"),
        ({"weight_kg": [70.0], "creatinine_clearance": [80.0], "eta": [0.0, 0.0]}, "eta"),
        ({"weight_kg": [70.0], "creatinine_clearance": [80.0], "eta": [9.0, 0, 0]}, "eta"),
    ],
)
def test_given_patients_out_of_range_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(TrialInputError) as caught:
        from_patients(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_prior_from_json_and_its_refusals() -> None:
    prior = CohortPrior.from_mapping(
        {
            "size": 1000,
            "seed": 1,
            "weight_kg": {"kind": "uniform", "low": 50, "high": 120},
            "creatinine_clearance": {
                "kind": "normal",
                "mean": 90,
                "sd": 30,
                "low": 20,
                "high": 150,
            },
        }
    )
    assert isinstance(prior.renal, CreatinineClearance)
    assert CohortPrior.from_mapping(prior.as_dict()) == prior
    cg = CohortPrior.from_mapping({"size": 10, "seed": 0, "female_fraction": 0.6})
    assert cg.renal == CockcroftGault(female_fraction=0.6)
    for body, field in (
        ({"seed": 1}, "prior.size"),
        ({"size": 0, "seed": 1}, "prior.size"),
        ({"size": 10, "seed": -1}, "prior.seed"),
        ({"size": 10, "seed": 1, "height": 3}, "prior"),
        ({"size": 10, "seed": 1, "weight_kg": {"kind": "uniform", "low": 10, "high": 90}},
         "prior.weight_kg.low"),
        ({"size": 10, "seed": 1, "weight_kg": {"kind": "uniform", "low": 90, "high": 60}},
         "prior.weight_kg.high"),
        ({"size": 10, "seed": 1, "weight_kg": {"kind": "beta"}}, "prior.weight_kg"),
        (
            {"size": 10, "seed": 1, "age_years": {"kind": "uniform", "low": 20, "high": 80},
             "creatinine_clearance": {"kind": "uniform", "low": 20, "high": 80}},
            "prior.creatinine_clearance",
        ),
        ({"size": 10, "seed": 1, "female_fraction": 1.5}, "prior.female_fraction"),
    ):  # fmt: skip
        with pytest.raises(TrialInputError) as caught:
            CohortPrior.from_mapping(body)
        assert caught.value.field == field, body
