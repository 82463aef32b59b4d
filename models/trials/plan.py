"""A trial as data: its arms (name, regimen), outputs, targets, horizon, and its chunks.

The work is cut into chunks of (arm, patient range); each chunk is computed alone
(:func:`models.trials.tally.run_chunk`) and its small result merged with the others', so
chunks can run anywhere, in any order, and a run resumes from the chunks already done.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.trials._checks import number, whole
from models.trials.arms import DEFAULT_HORIZON_H, OUTPUTS, check_horizon, output_index
from models.trials.errors import TrialInputError
from models.trials.regimen import Regimen

MAX_ARMS = 8
MAX_TARGETS = 8
DEFAULT_CHUNK = 65_536
MIN_CHUNK = 1_000
MAX_CHUNK = 4_194_304
ARM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.+/-]{0,63}")


@dataclass(frozen=True)
class Target:
    """An output within ``[low, high]`` (either bound may be open: None)."""

    output: str
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        output_index(self.output)
        if self.low is None and self.high is None:
            raise TrialInputError("target", "given a low and/or a high bound", self.output)
        for name, bound in (("low", self.low), ("high", self.high)):
            if bound is not None:
                number(f"target.{name}", bound, 0.0, 1e6)
        if self.low is not None and self.high is not None and self.high < self.low:
            raise TrialInputError("target.high", f"at least low = {self.low:g}", self.high)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Target:
        if not isinstance(data, Mapping) or not set(data) <= {"output", "low", "high"}:
            raise TrialInputError("target", "an object with output, low and/or high", data)
        return cls(data.get("output", ""), data.get("low"), data.get("high"))

    def as_dict(self) -> dict[str, Any]:
        return {"output": self.output, "low": self.low, "high": self.high}

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.output} in [{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{self.output} >= {self.low:g}"
        return f"{self.output} <= {self.high:g}"


@dataclass(frozen=True)
class Arm:
    name: str
    regimen: Regimen

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not ARM_NAME.fullmatch(self.name):
            raise TrialInputError(
                "arm.name", "1-64 letters, digits, spaces or _ . + / - (starting with a "
                "letter or digit)", self.name,
            )  # fmt: skip


@dataclass(frozen=True)
class Chunk:
    """Patients ``start`` to ``stop - 1`` under arm number ``arm``; ``key`` names it."""

    arm: int
    index: int
    start: int
    stop: int

    @property
    def key(self) -> str:
        return f"{self.arm}:{self.index}"


@dataclass(frozen=True)
class TrialPlan:
    arms: tuple[Arm, ...]
    targets: tuple[Target, ...] = ()
    outputs: tuple[str, ...] = OUTPUTS
    horizon_h: float = DEFAULT_HORIZON_H
    chunk_size: int = DEFAULT_CHUNK

    def __post_init__(self) -> None:
        if not 1 <= len(self.arms) <= MAX_ARMS:
            raise TrialInputError("arms", f"1 to {MAX_ARMS} arms", len(self.arms))
        names = [arm.name for arm in self.arms]
        if len(set(names)) != len(names):
            raise TrialInputError("arms", "arms with distinct names", names)
        if not 1 <= len(self.outputs) <= len(OUTPUTS) or len(set(self.outputs)) != len(
            self.outputs
        ):
            raise TrialInputError("outputs", "distinct outputs among " + ", ".join(OUTPUTS))
        for output in self.outputs:
            output_index(output)
        if len(self.targets) > MAX_TARGETS:
            raise TrialInputError("targets", f"at most {MAX_TARGETS}", len(self.targets))
        check_horizon(self.horizon_h)
        whole("chunk_size", self.chunk_size, MIN_CHUNK, MAX_CHUNK)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], chunk_size: int = DEFAULT_CHUNK) -> TrialPlan:
        """From a request body's ``arms`` (``[{"name", "regimen"}]``), ``outputs`` and
        ``targets`` (``[{"output", "low", "high"}]``), optional ``horizon_h``."""
        if not isinstance(data, Mapping):
            raise TrialInputError("trial", "an object with arms, outputs, targets", data)
        arms = _list(data, "arms", required=True)
        parsed = []
        for item in arms:
            if not isinstance(item, Mapping) or set(item) != {"name", "regimen"}:
                raise TrialInputError("arms[]", 'objects {"name", "regimen"}', item)
            parsed.append(Arm(item["name"], Regimen.from_mapping(item["regimen"])))
        outputs = _list(data, "outputs", required=False) or list(OUTPUTS)
        targets = [Target.from_mapping(t) for t in _list(data, "targets", required=False)]
        return cls(
            arms=tuple(parsed),
            targets=tuple(targets),
            outputs=tuple(outputs),
            horizon_h=data.get("horizon_h", DEFAULT_HORIZON_H),
            chunk_size=chunk_size,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "arms": [{"name": a.name, "regimen": a.regimen.as_dict()} for a in self.arms],
            "outputs": list(self.outputs),
            "targets": [t.as_dict() for t in self.targets],
            "horizon_h": self.horizon_h,
            "chunk_size": self.chunk_size,
        }

    def chunks(self, n_patients: int) -> tuple[Chunk, ...]:
        """Every (arm, patient range) chunk of a cohort of ``n_patients``, arm by arm."""
        whole("cohort size", n_patients, 1, 2**40)
        starts = range(0, n_patients, self.chunk_size)
        return tuple(
            Chunk(arm, index, start, min(start + self.chunk_size, n_patients))
            for arm in range(len(self.arms))
            for index, start in enumerate(starts)
        )


def _list(data: Mapping[str, Any], key: str, *, required: bool) -> Sequence[Any]:
    value = data.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise TrialInputError(key, "a non-empty list" if required else "a list", value)
    return value
