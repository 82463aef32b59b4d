"""The composition's side of the trial engine (:mod:`models.trials`, run on Ray by
:mod:`api.composition.trial_runner`): a request body as a plan naming the model, a cohort
as the engine's patients (a prior drawn again identically, or the patients' twins read
from the bank after the trial gate re-checked their consents), and one run that keeps
each finished chunk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from api.composition.research_input import only, optional_text, text
from api.composition.trial_runner import LocalRunner, RayRunner, TrialRunner
from api.composition.trial_runner import Progress as RunProgress
from api.composition.twin_course import OutsideModel, build_course
from governance.errors import Forbidden, GovernanceError, InvalidInput
from governance.release.trials import TrialClearance
from governance.research.cohorts import Cohort
from governance.twins.bank import TwinBank
from models.errors import ModelsError
from models.trials import (
    Arm,
    ChunkResult,
    CohortPrior,
    Regimen,
    Target,
    TrialInputError,
    TrialPlan,
    VirtualCohort,
    draw,
    explain_arm,
    from_patients,
)

_PLAN_FIELDS = {"model", "version", "arms", "outputs", "targets", "horizon_h"}


@dataclass(frozen=True)
class Plan:
    """A trial plan and the model it runs (``version`` None: the approved one)."""

    model: str
    version: str | None
    trial: TrialPlan

    @property
    def arms(self) -> tuple[Arm, ...]:
        return self.trial.arms

    def pinned(self, version: str) -> Plan:
        return replace(self, version=version)

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, **self.trial.as_dict()}


def _arms(raw: object) -> tuple[Arm, ...]:
    if not isinstance(raw, list) or not raw:
        raise InvalidInput('arms is required: a non-empty list of {"name", "regimen"}', "arms")
    arms = []
    for i, item in enumerate(raw):
        where = f"arms[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput(f'{where} must be an object {{"name", "regimen"}}', field=where)
        only(item, {"name", "regimen"}, where)
        name = text(item, "name", where)
        try:
            regimen = Regimen.from_mapping(item.get("regimen"))  # type: ignore[arg-type]
        except TrialInputError as exc:
            field = f"{where}.{exc.field}"
            raise InvalidInput(f"{field} must be {exc.allowed}", field=field) from exc
        try:
            arms.append(Arm(name, regimen))
        except TrialInputError as exc:
            raise InvalidInput(f"{where}.name must be {exc.allowed}", f"{where}.name") from exc
    return tuple(arms)


def _targets(raw: object) -> tuple[Target, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidInput('targets must be a list of {"output", "low", "high"}', "targets")
    targets = []
    for i, item in enumerate(raw):
        try:
            targets.append(Target.from_mapping(item))
        except TrialInputError as exc:
            field = f"targets[{i}].{exc.field.removeprefix('target.').removeprefix('target')}"
            field = field.rstrip(".")
            raise InvalidInput(f"{field} must be {exc.allowed}", field=field) from exc
    return tuple(targets)


def parse_plan(data: Mapping[str, Any]) -> Plan:
    """The body as a plan; :class:`InvalidInput` naming the field (``arms[1].regimen.
    interval_h``, ``targets[0].high``, ``outputs``)."""
    only(data, _PLAN_FIELDS)
    model = text(data, "model")
    version = optional_text(data, "version")
    arms = _arms(data.get("arms"))
    targets = _targets(data.get("targets"))
    outputs = data.get("outputs")
    if outputs is not None and (
        not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs)
    ):
        raise InvalidInput("outputs must be a list of output names", field="outputs")
    try:
        trial = TrialPlan(arms, targets, tuple(outputs) if outputs else TrialPlan.outputs,
                          data.get("horizon_h", TrialPlan.horizon_h))  # fmt: skip
    except TrialInputError as exc:
        field = exc.field if exc.field in ("arms", "outputs", "horizon_h", "targets") else (
            "outputs" if exc.field == "output" else exc.field
        )  # fmt: skip
        raise InvalidInput(f"{field} must be {exc.allowed}", field=field) from exc
    return Plan(model, version, trial)


@dataclass(frozen=True)
class CohortSource:
    """The patients a trial runs over: a prior (drawn chunk by chunk where it runs) or
    the patients' own cohort; ``left_out``: members without a usable calibrated twin."""

    prior: CohortPrior | None
    patients: VirtualCohort | None
    size: int
    left_out: int
    digest: str
    chunks: int


def cohort_source(
    cohort: Cohort, clearance: TrialClearance, bank: TwinBank, plan: Plan
) -> CohortSource:
    """What ``cohort`` runs as. Real patients: each cleared member's latest converged
    calibration (its etas) and the latest weight, creatinine clearance and dialysis status
    of their course; a member whose twin cannot be read (erased, never calibrated, outside
    the model) is left out and counted. Fewer than the minimum cell size left: 403."""
    if not cohort.real_patients:
        prior = CohortPrior.from_mapping(cohort.spec)
        chunks = len(plan.trial.chunks(prior.size))
        return CohortSource(prior, None, prior.size, 0, cohort.digest, chunks)
    rows = [row for m in clearance.members if (row := _patient_row(bank, m.patient, m.twin))]
    least = clearance.policy.research.min_cell_size
    if len(rows) < least:
        raise Forbidden(
            f"fewer than {least} patients of the cohort have a calibrated twin the trial can "
            "use: a trial over real patients does not run below the minimum cell size"
        )
    weight, crcl, dialysis, eta = (
        np.array(col, dtype=np.float64) for col in zip(*rows, strict=True)
    )
    patients = from_patients(weight, crcl, dialysis=dialysis, eta=eta.reshape(-1))
    digest = hashlib.sha256(f"{cohort.digest}:{patients.digest()}".encode()).hexdigest()
    left = len(clearance.members) - len(rows)
    return CohortSource(None, patients, len(rows), left, digest, len(plan.trial.chunks(len(rows))))


def _patient_row(
    bank: TwinBank, patient: str, twin_id: str
) -> tuple[float, float, float, list[float]] | None:
    try:
        twin = bank.twin(patient, twin_id)
        states = [s for s in bank.states(twin) if s.status == "converged"]
        if not states:
            return None
        posterior = states[-1].body.get("posterior")
        course = build_course(bank.observations(patient)).course
    except (GovernanceError, OutsideModel, ModelsError, KeyError, ValueError):
        return None
    if not posterior or not course.weight or not course.creatinine_clearance:
        return None
    eta = [float(v) for v in posterior["eta"]]
    return (course.weight[-1].value, course.creatinine_clearance[-1].value,
            1.0 if course.dialysis else 0.0, eta)  # fmt: skip


Keep = Callable[[int, Mapping[str, Any]], None]
#: Patients explained per arm (mean |SHAP| per covariate), against a background of 50.
EXPLAINED = 200


class Runners:
    """Which runner a trial runs on: small trials (at most ``inline_limit`` patient-arms)
    in this process, others on Ray — a runner ``shared`` by the caller (tests start one
    per module), else a Ray started for the trial (local, or ``ray_address``) and shut
    down after it."""

    def __init__(
        self,
        ray_address: str | None,
        inline_limit: int = 20_000,
        shared: TrialRunner | None = None,
    ) -> None:
        self.ray_address = ray_address
        self.inline_limit = inline_limit
        self.shared = shared

    @contextmanager
    def open(self, patient_arms: int) -> Iterator[TrialRunner]:
        if patient_arms <= self.inline_limit:
            yield LocalRunner()
        elif self.shared is not None:
            yield self.shared
        else:
            # a cohort drawn from a prior travels as the prior: each task draws its range
            with RayRunner(address=self.ray_address, draw_in_tasks=True) as runner:
                yield runner


def execute(
    plan: Plan,
    source: CohortSource,
    kept: Mapping[int, Mapping[str, Any]],
    keep: Keep,
    cancelled: Callable[[], bool],
    runners: Runners,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any] | None:
    """Run the chunks not ``kept`` yet (each kept as it finishes, by its number in the
    plan), merge them all, and explain each arm on a sample; None when ``cancelled``."""
    cohort = source.patients if source.patients is not None else draw(_prior(source))
    numbers = {c.key: i for i, c in enumerate(plan.trial.chunks(len(cohort)))}
    done = [ChunkResult.from_dict(summary) for summary in kept.values()]

    def finished(result: ChunkResult, at: RunProgress) -> None:
        keep(numbers[result.chunk.key], result.as_dict())
        if progress is not None:
            progress(at.done, at.total)

    with runners.open(len(cohort) * len(plan.arms)) as runner:
        run = runner.run(cohort, plan.trial, done=done, on_chunk=finished, cancelled=cancelled)
    if run.cancelled or run.summary is None:
        return None
    result = run.summary.as_dict()
    output = plan.trial.targets[0].output if plan.trial.targets else plan.trial.outputs[0]
    horizon = plan.trial.horizon_h
    result["explanations"] = [
        {"arm": arm.name,
         **asdict(explain_arm(cohort, arm.regimen, output, sample_size=EXPLAINED,
                              horizon_h=horizon))}
        for arm in plan.arms
    ]  # fmt: skip
    plain: dict[str, Any] = json.loads(json.dumps(result))  # tuples as lists, plain floats
    return plain


def _prior(source: CohortSource) -> CohortPrior:
    assert source.prior is not None
    return source.prior
