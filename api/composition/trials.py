"""In-silico trials for researchers: every arm of a plan run over a cohort, governed
once per trial in the composition (never inside a Ray task):

1. the role may run trials at all (before the body is read), the cohort is one the caller
   may see, the body is a plan (arms as regimens, outputs, targets) — else 403/404/422;
2. the trial gate (:class:`~governance.release.trials.TrialGate`): role on the model,
   purpose ``research``, the cohort's site, consents re-checked now (a withdrawn patient
   leaves the cohort; the job says how many left), approval and bias audit — a trial
   withheld is recorded and answered 403;
3. the job starts (``trial.start``: who, what, the cohort's digest, the checks); small
   trials run at once, long ones on a background thread; each finished chunk is kept, so
   a failed or cancelled job resumes where it stopped;
4. the merged result, for real patients under the minimum cell size with complementary
   suppression and without minimum/maximum quantiles (:mod:`.trial_disclosure`), is
   stored with its ``trial.release`` record (cohort and result digests).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from api.composition import trial_engine
from api.composition.cohorts import CohortService
from api.composition.research_input import decode
from api.composition.trial_disclosure import disclose
from governance.audit.chain import AuditLog
from governance.errors import Conflict, GovernanceError, NotFound
from governance.identity.principal import Principal
from governance.lifecycle.versions import Lifecycle, VersionState
from governance.policy.store import PolicyStore
from governance.release.trials import TrialClearance, TrialGate
from governance.research.cohorts import Cohort
from governance.research.jobs import Job, TrialJobs
from governance.twins.bank import TwinBank

_log = logging.getLogger("twinreg.trials")
Progress = Callable[[int, int], None]
#: What a job's stored request holds besides the plan.
_NOT_PLAN = ("members_digest", "chunk_size", "uncalibrated")
#: A trial of at most this many patient-arms runs while the request waits.
INLINE_PATIENT_ARMS = 20_000


class TrialService:
    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        policies: PolicyStore,
        lifecycle: Lifecycle,
        cohorts: CohortService,
        bank: TwinBank,
        load: Callable[[VersionState], object],
        ray_address: str | None = None,
    ) -> None:
        self._engine = engine
        self._policies = policies
        self._lifecycle = lifecycle
        self._cohorts = cohorts
        self._bank = bank
        self._load = load
        self.gate = TrialGate(policies, lifecycle, audit, engine)
        self.jobs = TrialJobs(engine, audit)
        #: Where chunks run: here for small trials, else on Ray (tests share one).
        self.runners = trial_engine.Runners(ray_address, INLINE_PATIENT_ARMS)
        #: Trials of at most this many patient-arms run while the request waits.
        self.inline_limit = INLINE_PATIENT_ARMS
        #: One background trial at a time per process (Ray spreads each over the cores).
        self._background = threading.Semaphore(1)
        self._threads: dict[str, threading.Thread] = {}

    # -- requests ---------------------------------------------------------------------------
    def request(
        self,
        principal: Principal,
        cohort_id: str,
        body: bytes,
        *,
        wait: bool = False,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Start a trial over the cohort; the job (done already when small, or ``wait``;
        ``progress`` hears (chunks done, chunks in all) as they finish)."""
        self._lifecycle.require_on(principal, "model/*", "trial", subject="trials")
        cohort = self._cohorts.visible(principal, cohort_id)
        data = decode(body)
        plan = trial_engine.parse_plan(data)
        clearance = self.gate.clear(principal, cohort, plan.model, plan.version, self._load)
        source = trial_engine.cohort_source(cohort, clearance, self._bank, plan)
        request = {**plan.as_dict(), "members_digest": source.digest,
                   "uncalibrated": source.left_out}  # fmt: skip
        job = self.jobs.start(
            principal, cohort.id, cohort.digest, plan.model, clearance.state.version, request,
            source.chunks, (source.size, clearance.withdrawn),
            {**clearance.to_audit(), "purpose": "research", "uncalibrated": source.left_out},
        )  # fmt: skip
        if wait or source.size * len(plan.arms) <= self.inline_limit:
            self._run(job, cohort, clearance, plan, source, principal, progress)
        else:
            self._spawn(job, cohort, clearance, plan, source, principal)
        return self.jobs.get(job.id).to_dict()

    def job(self, principal: Principal, job_id: str) -> dict[str, Any]:
        self._lifecycle.require_on(principal, "job", "read", subject="jobs")
        return self._owned(principal, job_id).to_dict()

    def cancel(self, principal: Principal, job_id: str) -> dict[str, Any]:
        self._lifecycle.require_on(principal, "job", "cancel", subject="jobs")
        self._owned(principal, job_id)
        return self.jobs.cancel(principal, job_id).to_dict()

    def resume(self, principal: Principal, job_id: str, *, wait: bool = False) -> dict[str, Any]:
        """Run a failed or cancelled job's missing chunks, the trial gate passed again (its
        consents re-checked: a cohort whose patients changed is a new trial, 409)."""
        self._lifecycle.require_on(principal, "job", "resume", subject="jobs")
        job = self._owned(principal, job_id)
        cohort = self._cohorts.visible(principal, job.cohort_id)
        plan = trial_engine.parse_plan({k: v for k, v in job.request.items() if k not in _NOT_PLAN})
        plan = plan.pinned(job.model_version)
        clearance = self.gate.clear(principal, cohort, plan.model, plan.version, self._load)
        source = trial_engine.cohort_source(cohort, clearance, self._bank, plan)
        if source.digest != job.request.get("members_digest"):
            raise Conflict(
                f"the cohort's patients changed since job {job_id} started (consents withdrawn "
                "or twins recalibrated): start a new trial"
            )
        job = self.jobs.requeue(job_id)
        if wait:
            self._run(job, cohort, clearance, plan, source, principal)
        else:
            self._spawn(job, cohort, clearance, plan, source, principal)
        return self.jobs.get(job_id).to_dict()

    def _owned(self, principal: Principal, job_id: str) -> Job:
        """The job, when the caller started it (another's is not found, like none)."""
        job = self.jobs.get(job_id)
        if not job.owned_by(principal):
            raise NotFound(f"no job {job_id}")
        return job

    # -- running ------------------------------------------------------------------------------
    def _spawn(self, job: Job, *args: Any) -> None:
        def work() -> None:
            with self._background:
                self._run(job, *args)

        thread = threading.Thread(target=work, name=f"trial-{job.id[:8]}", daemon=True)
        self._threads[job.id] = thread
        thread.start()

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Wait for a background job of this process (tests, the CLI)."""
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)

    def _run(
        self,
        job: Job,
        cohort: Cohort,
        clearance: TrialClearance,
        plan: trial_engine.Plan,
        source: trial_engine.CohortSource,
        principal: Principal,
        progress: Progress | None = None,
    ) -> None:
        if not self.jobs.run(job.id):
            return  # cancelled before it started
        try:
            result = trial_engine.execute(
                plan,
                source,
                kept=self.jobs.chunks(job.id),
                keep=lambda number, summary: self.jobs.add_chunk(job.id, number, summary),
                cancelled=lambda: self.jobs.is_cancelled(job.id),
                runners=self.runners,
                progress=progress,
            )
            if result is None:
                return  # cancelled: the finished chunks are kept
            policy = self._policies.current()
            shown = disclose(result, cohort.real_patients, policy.research.min_cell_size)
            audit = {"principal": principal.to_audit(), "purpose": "research",
                     "policy_version": policy.version, "patients": source.size,
                     "withdrawn": clearance.withdrawn, "uncalibrated": source.left_out}  # fmt: skip
            self.jobs.release(job.id, shown, audit)
        except Conflict:
            return  # cancelled while the last chunk ran: nothing is released
        except (GovernanceError, Exception) as exc:  # kept for a resume; the log has it
            _log.exception("trial job %s failed", job.id)
            self.jobs.fail(job.id, f"the trial failed ({type(exc).__name__}); resume it")
