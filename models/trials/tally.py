"""Mergeable per-arm tallies: what a chunk hands back instead of its patients' outputs.

For each output: a histogram over :data:`N_BINS` log-spaced bins from :data:`LOWEST` to
:data:`HIGHEST` (one bin below for values under :data:`LOWEST`, including 0, one above),
the sum, minimum and maximum; for each target, the patients who reached it (counted on
the exact values). Merging adds counts and sums, so any split of a cohort into chunks
merges into the same tally, and a chunk's result is a few kilobytes whatever its size.
Quantiles read from the histogram are within one bin, ``10^(8/8192) - 1`` = 0.23 %
relative (:func:`histogram_quantile`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.mechanistic._validation import FloatArray, IntArray
from models.trials.arms import OUTPUTS, output_index, simulate_arm
from models.trials.cohort import VirtualCohort
from models.trials.errors import TrialInputError
from models.trials.plan import Chunk, Target, TrialPlan

LOWEST = 1e-3
HIGHEST = 1e5
N_BINS = 8192
_LOG_LOW = np.log(LOWEST)
_LOG_STEP = (np.log(HIGHEST) - np.log(LOWEST)) / N_BINS


def _bins(values: FloatArray) -> IntArray:
    """Bin of each value: 0 below LOWEST, 1..N_BINS inside, N_BINS + 1 from HIGHEST up."""
    inside = values >= LOWEST
    position = np.floor((np.log(np.where(inside, values, LOWEST)) - _LOG_LOW) / _LOG_STEP)
    result: IntArray = np.where(inside, np.clip(position, 0, N_BINS) + 1, 0).astype(np.int64)
    return result


def bin_edges(index: int) -> tuple[float, float]:
    """The value range of histogram bin ``index``."""
    if index == 0:
        return 0.0, LOWEST
    if index > N_BINS:
        return HIGHEST, float("inf")
    low = float(np.exp(_LOG_LOW + (index - 1) * _LOG_STEP))
    return low, float(np.exp(_LOG_LOW + index * _LOG_STEP))


@dataclass(frozen=True)
class ArmTally:
    """One arm's tally over some patients (all :data:`OUTPUTS`; targets of its plan)."""

    n: int
    counts: IntArray  # (len(OUTPUTS), N_BINS + 2)
    sums: FloatArray
    minima: FloatArray
    maxima: FloatArray
    hits: IntArray  # (n_targets,)

    @classmethod
    def of(cls, outputs: FloatArray, targets: tuple[Target, ...]) -> ArmTally:
        """The tally of ``(n, len(OUTPUTS))`` exposures."""
        n = outputs.shape[0]
        counts = np.zeros((len(OUTPUTS), N_BINS + 2), dtype=np.int64)
        for k in range(len(OUTPUTS)):
            counts[k] = np.bincount(_bins(outputs[:, k]), minlength=N_BINS + 2)
        hits = np.array([_reached(outputs, t) for t in targets], dtype=np.int64)
        return cls(
            n,
            counts,
            outputs.sum(axis=0),
            outputs.min(axis=0) if n else np.full(len(OUTPUTS), np.inf),
            outputs.max(axis=0) if n else np.full(len(OUTPUTS), -np.inf),
            hits,
        )

    def merge(self, other: ArmTally) -> ArmTally:
        if self.hits.shape != other.hits.shape:
            raise TrialInputError("tally", "tallies of the same targets")
        return ArmTally(
            self.n + other.n,
            self.counts + other.counts,
            self.sums + other.sums,
            np.minimum(self.minima, other.minima),
            np.maximum(self.maxima, other.maxima),
            self.hits + other.hits,
        )

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled (between Ray workers and the driver) with sparse histograms: the
        non-empty bins' flat indices and counts, a quarter of the dense size or less."""
        flat = self.counts.reshape(-1)
        where = np.flatnonzero(flat).astype(np.int32)
        fields = (self.n, where, flat[where], self.sums, self.minima, self.maxima, self.hits)
        return _from_sparse, fields

    def as_dict(self) -> dict[str, Any]:
        """JSON form; histograms sparse (``[[bin, count], ...]`` of non-empty bins)."""
        sparse = [[[int(i), int(row[i])] for i in np.flatnonzero(row)] for row in self.counts]
        return {
            "n": self.n,
            "counts": sparse,
            "sums": self.sums.tolist(),
            "minima": self.minima.tolist(),
            "maxima": self.maxima.tolist(),
            "hits": self.hits.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArmTally:
        try:
            counts = np.zeros((len(OUTPUTS), N_BINS + 2), dtype=np.int64)
            for k, row in enumerate(data["counts"]):
                for index, count in row:
                    counts[k, int(index)] = int(count)
            return cls(
                int(data["n"]),
                counts,
                np.array(data["sums"], dtype=np.float64),
                np.array(data["minima"], dtype=np.float64),
                np.array(data["maxima"], dtype=np.float64),
                np.array(data["hits"], dtype=np.int64),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise TrialInputError("chunk result", "a tally written by as_dict") from exc


def _from_sparse(
    n: int,
    where: IntArray,
    counts: IntArray,
    sums: FloatArray,
    minima: FloatArray,
    maxima: FloatArray,
    hits: IntArray,
) -> ArmTally:
    dense = np.zeros(len(OUTPUTS) * (N_BINS + 2), dtype=np.int64)
    dense[where] = counts
    return ArmTally(n, dense.reshape(len(OUTPUTS), N_BINS + 2), sums, minima, maxima, hits)


def _reached(outputs: FloatArray, target: Target) -> int:
    values = outputs[:, output_index(target.output)]
    ok = np.ones(values.shape, dtype=bool)
    if target.low is not None:
        ok &= values >= target.low
    if target.high is not None:
        ok &= values <= target.high
    return int(ok.sum())


def histogram_quantile(tally: ArmTally, output: str, q: float) -> float:
    """The ``q`` quantile (0..1) of an output, interpolated (log-linearly) in its bin and
    kept within the exact minimum and maximum."""
    k = output_index(output)
    counts = tally.counts[k]
    if tally.n == 0:
        return float("nan")
    rank = q * (tally.n - 1)
    cumulative = np.cumsum(counts)
    index = int(np.searchsorted(cumulative, rank, side="right"))
    before = float(cumulative[index - 1]) if index else 0.0
    low, high = bin_edges(index)
    low = max(low, float(tally.minima[k]))
    high = min(high, float(tally.maxima[k]))
    fraction = (rank - before + 0.5) / float(counts[index])
    fraction = min(max(fraction, 0.0), 1.0)
    if low > 0.0 and high > low:
        value = float(np.exp(np.log(low) + fraction * (np.log(high) - np.log(low))))
    else:
        value = low + fraction * (high - low)
    return min(max(value, float(tally.minima[k])), float(tally.maxima[k]))


@dataclass(frozen=True)
class ChunkResult:
    """A finished chunk: which one, and its arm's tally over its patients."""

    chunk: Chunk
    tally: ArmTally

    def as_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "arm": c.arm,
            "index": c.index,
            "start": c.start,
            "stop": c.stop,
            "tally": self.tally.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChunkResult:
        try:
            chunk = Chunk(
                int(data["arm"]), int(data["index"]), int(data["start"]), int(data["stop"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TrialInputError("chunk result", "arm, index, start, stop and tally") from exc
        return cls(chunk, ArmTally.from_dict(data["tally"]))


def run_chunk(cohort: VirtualCohort, plan: TrialPlan, chunk: Chunk) -> ChunkResult:
    """Simulate one chunk (on numba's threads) and tally it."""
    if not 0 <= chunk.start < chunk.stop <= len(cohort):
        raise TrialInputError("chunk", f"a patient range within 0..{len(cohort)}", chunk)
    outputs = simulate_arm(
        cohort.slice(chunk.start, chunk.stop), plan.arms[chunk.arm].regimen, plan.horizon_h
    )
    return ChunkResult(chunk, ArmTally.of(outputs, plan.targets))


def merge_results(
    plan: TrialPlan, n_patients: int, results: Iterable[ChunkResult]
) -> tuple[ArmTally, ...]:
    """One tally per arm from every chunk of the plan, each exactly once (else refused)."""
    expected = {c.key: c for c in plan.chunks(n_patients)}
    seen: dict[str, ChunkResult] = {}
    for result in results:
        if expected.get(result.chunk.key) != result.chunk or result.chunk.key in seen:
            raise TrialInputError("chunk results", "each chunk of the plan once", result.chunk)
        seen[result.chunk.key] = result
    missing = sorted(set(expected) - set(seen))
    if missing:
        raise TrialInputError("chunk results", "complete", f"missing {missing[:5]}")
    tallies = []
    for arm in range(len(plan.arms)):
        ordered = sorted(
            (r for r in seen.values() if r.chunk.arm == arm), key=lambda r: r.chunk.index
        )
        parts = [r.tally for r in ordered]
        total = parts[0]
        for part in parts[1:]:
            total = total.merge(part)
        tallies.append(total)
    return tuple(tallies)
