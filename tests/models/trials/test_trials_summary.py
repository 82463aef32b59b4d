"""Tallies and summaries: chunks merge into the unchunked tally, quantiles within a bin of
numpy's, attainment and its intervals against statsmodels, chunk results through JSON."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from models.trials import (
    OUTPUTS,
    Arm,
    ArmTally,
    ChunkResult,
    CohortPrior,
    Regimen,
    Target,
    TrialInputError,
    TrialPlan,
    draw,
    merge_results,
    run_chunk,
    simulate_arm,
    summarise,
)
from models.trials.intervals import newcombe, wilson
from models.trials.summary import QUANTILES

PLAN = TrialPlan(
    arms=(
        Arm("q12h", Regimen(12, 1, 6, dose_mg_per_kg=15)),
        Arm("q8h", Regimen(8, 1, 9, dose_mg_per_kg=10)),
    ),
    targets=(Target("auc24", 400, 600), Target("trough", high=15)),
    chunk_size=1_000,
)
COHORT = draw(CohortPrior(size=5_500, seed=17))


def test_chunks_merge_into_the_tally_of_the_whole_cohort() -> None:
    results = [run_chunk(COHORT, PLAN, chunk) for chunk in PLAN.chunks(len(COHORT))]
    assert len(results) == 12  # 6 chunks (the last of 500) per arm
    merged = merge_results(PLAN, len(COHORT), reversed(results))
    for arm, tally in zip(PLAN.arms, merged, strict=True):
        whole = ArmTally.of(simulate_arm(COHORT, arm.regimen), PLAN.targets)
        assert tally.n == whole.n == 5_500
        np.testing.assert_array_equal(tally.counts, whole.counts)
        np.testing.assert_array_equal(tally.hits, whole.hits)
        np.testing.assert_array_equal(tally.minima, whole.minima)
        np.testing.assert_array_equal(tally.maxima, whole.maxima)
        np.testing.assert_allclose(tally.sums, whole.sums, rtol=1e-12)
    assert summarise(PLAN, merged).arms[0].attainment[0].hits == int(merged[0].hits[0])


def test_quantiles_are_within_a_bin_of_numpys_and_attainment_counts_exact_values() -> None:
    outputs = simulate_arm(COHORT, PLAN.arms[0].regimen)
    tally = ArmTally.of(outputs, PLAN.targets)
    summary = summarise(PLAN, (tally, tally)).arms[0]
    for k, name in enumerate(OUTPUTS):
        result = summary.outputs[k]
        assert result.output == name
        expected = np.quantile(outputs[:, k], QUANTILES)
        got = [value for _, value in result.quantiles]
        np.testing.assert_allclose(got, expected, rtol=2.5e-3)
        assert result.minimum == outputs[:, k].min()
        assert result.maximum == outputs[:, k].max()
        assert result.mean == pytest.approx(outputs[:, k].mean(), rel=1e-12)
    auc, trough = outputs[:, 0], outputs[:, 1]
    assert summary.attainment[0].hits == int(((auc >= 400) & (auc <= 600)).sum())
    assert summary.attainment[1].hits == int((trough <= 15).sum())
    assert summary.attainment[1].target == "trough <= 15"


@pytest.mark.parametrize(("hits", "n"), [(0, 10), (3, 10), (10, 10), (3660, 10_000), (1, 1)])
def test_wilson_interval_equals_statsmodels(hits: int, n: int) -> None:
    low, high = proportion_confint(hits, n, alpha=0.05, method="wilson")
    assert wilson(hits, n) == pytest.approx((low, high), abs=1e-12)


@pytest.mark.parametrize(
    "counts", [(36, 100, 42, 100), (0, 50, 5, 60), (3660, 10_000, 3720, 10_000), (9, 9, 1, 12)]
)
def test_newcombe_interval_of_a_difference_equals_statsmodels(
    counts: tuple[int, int, int, int],
) -> None:
    h1, n1, h2, n2 = counts
    d, low, high = newcombe(h1, n1, h2, n2)
    expected = confint_proportions_2indep(h1, n1, h2, n2, method="newcomb", compare="diff")
    assert d == pytest.approx(h1 / n1 - h2 / n2)
    assert (low, high) == pytest.approx(expected, abs=1e-12)


def test_the_comparison_is_each_arm_minus_the_first() -> None:
    merged = merge_results(
        PLAN, len(COHORT), [run_chunk(COHORT, PLAN, c) for c in PLAN.chunks(len(COHORT))]
    )
    summary = summarise(PLAN, merged)
    (comparison,) = summary.comparisons
    assert (comparison.arm, comparison.reference) == ("q8h", "q12h")
    first, second = summary.arms
    diff = comparison.attainment[0]
    assert diff.difference == pytest.approx(
        second.attainment[0].proportion - first.attainment[0].proportion
    )
    assert diff.low < diff.difference < diff.high
    medians = dict(comparison.median_differences)
    assert medians["auc24"] == pytest.approx(
        second.outputs[0].quantile(0.5) - first.outputs[0].quantile(0.5)
    )
    json.dumps(summary.as_dict())


def test_chunk_results_survive_json_and_pickle_and_incomplete_or_doubled_ones_are_refused() -> None:
    chunks = PLAN.chunks(len(COHORT))
    results = [run_chunk(COHORT, PLAN, c) for c in chunks]
    back = [ChunkResult.from_dict(json.loads(json.dumps(r.as_dict()))) for r in results]
    pickled = [pickle.loads(pickle.dumps(r)) for r in results]  # how Ray hands them back
    for a, b in zip(results * 2, back + pickled, strict=True):
        assert a.chunk == b.chunk
        np.testing.assert_array_equal(a.tally.counts, b.tally.counts)
        np.testing.assert_array_equal(a.tally.sums, b.tally.sums)
    with pytest.raises(TrialInputError, match="missing"):
        merge_results(PLAN, len(COHORT), back[1:])
    with pytest.raises(TrialInputError):
        merge_results(PLAN, len(COHORT), [*back, back[0]])
    with pytest.raises(TrialInputError):
        ChunkResult.from_dict({"arm": 0, "index": 0, "start": 0, "stop": 10, "tally": {}})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"arms": []}, "arms"),
        ({"arms": [{"name": "a", "regimen": {"dose_mg": 1, "interval_h": 12, "n_doses": 1}}] * 2},
         "arms"),
        ({"arms": [{"name": "<b>", "regimen": {"dose_mg": 1, "interval_h": 12, "n_doses": 1}}]},
         "arm.name"),
        ({"arms": [{"name": "a", "regimen": {"dose_mg": 1, "interval_h": 12, "n_doses": 1}}],
          "outputs": ["auc"]}, "output"),
        ({"arms": [{"name": "a", "regimen": {"dose_mg": 1, "interval_h": 12, "n_doses": 1}}],
          "targets": [{"output": "auc24"}]}, "target"),
        ({"arms": [{"name": "a", "regimen": {"dose_mg": 1, "interval_h": 12, "n_doses": 1}}],
          "targets": [{"output": "auc24", "low": 600, "high": 400}]}, "target.high"),
    ],
)  # fmt: skip
def test_an_invalid_plan_is_refused_naming_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(TrialInputError) as caught:
        TrialPlan.from_mapping(body)
    assert caught.value.field == field
