"""The outer loop: propose, validate, deduplicate, evaluate, record, with several evaluations at once.

The executor has `slots` evaluation slots. Whenever a slot is free and no validated candidate waits
for one, the proposer is asked for `population` more (one "generation" is one such request), so the
LLM never waits for training to finish and the other slots keep training while it thinks. With one
slot this is the classic loop: a generation is proposed once the previous one is evaluated. Each
proposal records the context it was shown (the best and recent candidates with their figures, and
the ones still in flight), so a run with many slots stays explainable afterwards.

Every state change of a candidate is committed to the archive before the loop moves on, its job
(executor and id) included, so a run stopped at any moment resumes from the archive alone: scored
candidates stay scored, a job still queued or running is waited for again (nothing trains twice), a
finished job's outcome is collected from its folder, a lost job is resubmitted (a candidate whose
evaluations were lost `max_attempts` times fails instead), and proposals already recorded are
evaluated rather than proposed anew.

A candidate is evaluated in racing rounds (`discovery.racing`): a first estimate at every beta,
then, while it could still beat the incumbent, more seeds at its best beta, each round a job of its
own that keeps the slot. Its figures (`discovery.fitness`) are committed after every round, and
everyone's are summarised again once the baseline's are known and when the run ends, so that every
interval uses the run's pooled seed noise and every candidate is paired with the baseline.
"""

import time
from dataclasses import dataclass
from typing import Protocol

from discovery.archive import Archive, run_best
from discovery.config import RunConfig
from discovery.execution.executor import Executor, JobState, JobStatus
from discovery.execution.job import CandidateJob, JobOutcome, JobSettings
from discovery.fitness import combined_noise, noise_share, summarise
from discovery.novelty import NoveltyIndex
from discovery.objectives import Objective, load_objective, shipped_catalog
from discovery.objectives.objective import reported_source
from discovery.proposers.base import Check, Proposal, ProposalContext, Proposer
from discovery.racing import Racing
from discovery.records import (
    CandidateRecord,
    CandidateStatus,
    EvaluationResult,
    JobRef,
    ReportedFigures,
    RunRecord,
    RunStatus,
    SeedResult,
    TrainingPoint,
    now,
)
from discovery.sandbox import Validator, Verdict
from discovery.seed_scores import SeedScoreCache
from evaluators import Evaluator

_POLL_SECONDS = 1.0


class LoopObserver(Protocol):
    """What a display needs to follow a run; every method must be cheap."""

    def run_started(self, run: RunRecord, proposer: str) -> None: ...
    def llm_spend(self, prompt_tokens: int, completion_tokens: int) -> None: ...
    def task_progress(self, phase: str, fraction: float | None) -> None: ...
    def generation_started(self, generation: int, total: int) -> None: ...
    def candidate_known(self, candidate: CandidateRecord) -> None: ...
    def candidate_phase(self, candidate: CandidateRecord, phase: str, fraction: float | None) -> None: ...
    def candidate_finished(self, candidate: CandidateRecord, best: CandidateRecord | None) -> None: ...
    def notice(self, message: str) -> None: ...
    def ask(self, question: str) -> bool: ...


class SilentObserver:
    """An observer that shows nothing (used with --json and in tests)."""

    def run_started(self, run: RunRecord, proposer: str) -> None:
        pass

    def llm_spend(self, prompt_tokens: int, completion_tokens: int) -> None:
        pass

    def task_progress(self, phase: str, fraction: float | None) -> None:
        pass

    def generation_started(self, generation: int, total: int) -> None:
        pass

    def candidate_known(self, candidate: CandidateRecord) -> None:
        pass

    def candidate_phase(self, candidate: CandidateRecord, phase: str, fraction: float | None) -> None:
        pass

    def candidate_finished(self, candidate: CandidateRecord, best: CandidateRecord | None) -> None:
        pass

    def notice(self, message: str) -> None:
        pass

    def ask(self, question: str) -> bool:
        """Nobody to ask: the cautious answer (cancel, so no job runs on unwatched)."""
        return True

    def __enter__(self) -> "SilentObserver":
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


@dataclass
class _InFlight:
    """A candidate whose job runs: the record, the job, and when it was last looked at."""

    candidate: CandidateRecord
    job: CandidateJob


class DiscoveryLoop:
    """One run of the outer loop over an open archive, `executor.slots` evaluations at a time."""

    def __init__(
        self,
        archive: Archive,
        config: RunConfig,
        proposer: Proposer,
        evaluator: Evaluator,
        executor: Executor,
        jobs: JobSettings,
        validator: Validator,
        seed_scores: SeedScoreCache,
        observer: LoopObserver,
        max_attempts: int = 2,
    ) -> None:
        self.archive = archive
        self.config = config
        self.proposer = proposer
        self.evaluator = evaluator
        self.executor = executor
        self.jobs = jobs
        self.validator = validator
        self.seed_scores = seed_scores
        self.observer = observer
        self.max_attempts = max_attempts
        self.stopped_reason: str | None = None
        self._verdicts: dict[str, Verdict] = {}
        self._novelty = NoveltyIndex()
        self._in_flight: dict[str, _InFlight] = {}
        self._waiting: list[CandidateRecord] = []  # proposed or validated, not yet submitted
        self._generation = 0  # the latest generation proposed
        self._proposed = 0  # candidates proposed in the whole run
        self._started = time.monotonic()
        seeds = config.seed_list
        self.racing = Racing(
            seeds=seeds,
            betas=list(evaluator.betas()),
            first_seeds=min(config.racing.first_seeds, len(seeds)),
            best_needs=config.best_needs,
        )
        self._baseline_id = f"seed-{config.racing.baseline}"
        self._scored: dict[str, CandidateRecord] = {}  # candidates with figures, by id
        self._noise_shares: dict[str, tuple[float, int]] = {}  # each scored candidate's part of the noise

    # -- the whole run ---------------------------------------------------------------------------

    def run(self) -> RunRecord:
        """Prepare the task, mark the run running (with this run's configuration), seed it (once),
        propose and evaluate until the run's limits, then mark it finished.

        Nothing is written before the task is ready, so a resume that cannot start (the task cannot
        be built) leaves the run as it was.
        """
        run = self.archive.run()
        self.observer.run_started(run, self.proposer.name)
        self.observer.llm_spend(*self.archive.tokens_spent())
        self.evaluator.prepare(self.observer.task_progress)
        run = run.model_copy(update={"config": self.config, "status": RunStatus.RUNNING})
        self.archive.update_run(run)
        self._seed()
        for candidate in self.archive.candidates():  # the only full read of a run's candidates
            self._track(candidate)
            self.observer.candidate_known(candidate)  # a resumed run's standing: best, seeds scored
        while True:
            self._collect()
            self._advance_waiting()
            if self._can_propose() and len(self._in_flight) < self.executor.slots and not self._waiting:
                self._propose_generation()
            elif not self._in_flight and (not self._waiting or self._stopping()):
                break
            else:
                self.executor.wait(_POLL_SECONDS)
        self._summarise_all()
        return self._finish(run)

    def _track(self, candidate: CandidateRecord) -> None:
        """Take a stored candidate into the loop's bookkeeping, wherever it stands."""
        self._novelty.add(candidate)
        self._generation = max(self._generation, candidate.generation)
        self._proposed += not candidate.is_seed
        if candidate.figures is not None and candidate.status is not CandidateStatus.FAILED:
            self._keep_scored(candidate)
        if candidate.status is CandidateStatus.RUNNING:
            self._in_flight[candidate.id] = _InFlight(candidate, self._job_of(candidate))
        elif candidate.status in (CandidateStatus.PROPOSED, CandidateStatus.VALIDATED):
            self._waiting.append(candidate)

    @property
    def in_flight(self) -> list[str]:
        """Ids of the candidates whose jobs run now."""
        return list(self._in_flight)

    def interrupt(self, cancel_jobs: bool) -> None:
        """The run stops early: cancel the jobs in flight (their candidates wait again, no attempt
        counted) or leave them running for a later `--resume` to collect. The runner marks the run."""
        for flight in list(self._in_flight.values()):
            candidate = flight.candidate
            if cancel_jobs and candidate.job is not None:
                self.executor.cancel(candidate.job.id)
                candidate.status, candidate.attempts = CandidateStatus.VALIDATED, candidate.attempts - 1
                self.archive.update_candidate(candidate)
                del self._in_flight[candidate.id]

    def _finish(self, run: RunRecord) -> RunRecord:
        run = self.archive.run()
        run.generations_done = self._generation
        run.status = RunStatus.FINISHED
        run.ended = now()
        self.archive.update_run(run)
        return run

    def _seed(self) -> None:
        """Add the shipped objectives as generation-0 candidates (once per run), the baseline first
        (every candidate is compared with it) and whether or not it was named."""
        known = {c.id for c in self.archive.candidates(generation=0)}
        catalog = shipped_catalog()
        seeds = []
        named = self.config.seed_objectives or list(catalog)
        baseline = self.config.racing.baseline
        for name in [baseline, *(n for n in named if n != baseline)]:
            objective = load_objective(name)
            if f"seed-{objective.name}" in known:
                continue
            seeds.append(
                CandidateRecord(
                    id=f"seed-{objective.name}",
                    run_id=self.archive.run().id,
                    generation=0,
                    name=objective.name,
                    thought=objective.thought,
                    code=objective.source,
                    code_hash=objective.code_hash,
                    is_seed=True,
                    reported=ReportedFigures(
                        source=reported_source(), figures=catalog[objective.name]["reported"]
                    ),
                )
            )
        self.archive.add_candidates(seeds)

    # -- the candidates on their way --------------------------------------------------------------

    def _advance_waiting(self) -> None:
        """Validate what was proposed; submit what is valid, oldest first, while a slot is free."""
        for candidate in list(self._waiting):
            if candidate.status is CandidateStatus.PROPOSED:
                self._validate(candidate)
            if candidate.status is not CandidateStatus.VALIDATED:
                self._waiting.remove(candidate)
                continue
            if len(self._in_flight) >= self.executor.slots or self._stopping():
                return
            self._waiting.remove(candidate)
            self._start(candidate)

    def _validate(self, candidate: CandidateRecord) -> CandidateRecord:
        self.observer.candidate_phase(candidate, "validating", None)
        verdict = self._verdict(candidate.code)
        candidate.fingerprint, candidate.beta_profile = verdict.fingerprint, verdict.beta_profile
        if not verdict.ok:
            candidate.status, candidate.stage, candidate.reason = (
                CandidateStatus.INVALID,
                verdict.stage,
                verdict.reason,
            )
        elif reason := self._duplicate_of(candidate.code_hash, verdict, candidate.id):
            candidate.status, candidate.reason = CandidateStatus.DUPLICATE, reason
        else:
            candidate.status = CandidateStatus.VALIDATED
        self.archive.update_candidate(candidate)
        self._novelty.add(candidate)
        if candidate.status is not CandidateStatus.VALIDATED:
            self._finished(candidate)
        return candidate

    def _start(self, candidate: CandidateRecord) -> None:
        """Start the candidate's next racing round: its unfinished one (a job that was lost or
        cancelled), else the first."""
        job = candidate.job
        if job is not None and job.points and not self._trained(candidate, job.points):
            self._start_round(candidate, job.round, job.points)
        else:
            self._start_round(
                candidate, 1, self.racing.first_round(complete=candidate.id == self._baseline_id)
            )

    def _start_round(self, candidate: CandidateRecord, round_: int, points: list[TrainingPoint]) -> None:
        """Take what the seed-score cache knows, submit a job for the rest; either way committed
        before going on."""
        cached = [hit for point in points if (hit := self._cached(candidate, point)) is not None]
        missing = [point for point in points if not self._trained_in(cached, point)]
        if not missing:
            self._round_finished(candidate, round_, cached)
            return
        if candidate.job is None or candidate.job.round != round_:
            candidate.attempts = 0  # attempts count the jobs of the current round
        if candidate.attempts >= self.max_attempts:
            lost = candidate.attempts
            failure = f"its evaluation ended the process running it {lost} times; not tried again"
            self._record(candidate, JobOutcome(failure=failure))
            return
        job = self._job_of(candidate, round_, missing)
        job.workdir.mkdir(parents=True, exist_ok=True)
        (job.workdir / "outcome.json").unlink(missing_ok=True)
        candidate.figures = self._with(candidate, cached)
        candidate.attempts += 1
        candidate.job = JobRef(
            executor=self.executor.kind, id=self.executor.submit(job), round=round_, points=missing
        )
        candidate.status = CandidateStatus.RUNNING
        self.archive.update_candidate(candidate)
        self._in_flight[candidate.id] = _InFlight(candidate, job)
        self.observer.candidate_phase(candidate, "submitted", None)

    def _collect(self) -> None:
        """Record every job that ended; pass on the progress of the others."""
        for candidate_id, flight in list(self._in_flight.items()):
            candidate = flight.candidate
            status = self._status(flight)
            if status.state in (JobState.QUEUED, JobState.RUNNING):
                phase, fraction = status.progress or (status.state.value, None)
                self.observer.candidate_phase(candidate, phase, fraction)
                continue
            del self._in_flight[candidate_id]
            if status.state is JobState.LOST:
                self.observer.notice(f"{candidate.id}: {status.reason}; it will be tried again")
                candidate.status = CandidateStatus.VALIDATED
                self.archive.update_candidate(candidate)
                self._waiting.insert(0, candidate)
                continue
            assert status.outcome is not None
            self._record(candidate, status.outcome)

    def _status(self, flight: _InFlight) -> JobStatus:
        job_ref = flight.candidate.job
        if job_ref is None or job_ref.executor != self.executor.kind:  # run resumed on another executor
            return JobStatus(
                JobState.LOST, reason=f"its job ran on the {job_ref.executor if job_ref else '?'} executor"
            )
        return self.executor.status(job_ref.id, flight.job)

    def _record(self, candidate: CandidateRecord, outcome: JobOutcome) -> None:
        """The figures or the failure of an ended job, committed; a stopped service stops the run."""
        if outcome.unavailable or outcome.user_error:
            candidate.status, candidate.attempts = CandidateStatus.VALIDATED, max(candidate.attempts - 1, 0)
            self.archive.update_candidate(candidate)
            outcome.raise_for_caller()
        candidate.isolation = outcome.isolation or candidate.isolation
        if outcome.trainings is None:
            candidate.status, candidate.reason = CandidateStatus.FAILED, outcome.failure
            self._scored.pop(candidate.id, None)
            self._noise_shares.pop(candidate.id, None)
            self._close(candidate)
            return
        if candidate.is_seed:
            self.seed_scores.store(candidate.code_hash, outcome.trainings)
        self._round_finished(candidate, candidate.job.round if candidate.job else 1, outcome.trainings)

    def _round_finished(self, candidate: CandidateRecord, round_: int, trainings: list[SeedResult]) -> None:
        """Add a round's trainings to the candidate's figures; race on, or close it."""
        candidate.figures = self._with(candidate, trainings)
        self._keep_scored(candidate)
        if candidate.id == self._baseline_id:
            self._summarise_all()  # every interval and comparison can lean on the baseline now
        more = (
            []
            if candidate.id == self._baseline_id
            else self.racing.next_round(candidate.figures, self._incumbent(candidate.id))
        )
        if more and not self._stopping():
            self.observer.notice(
                f"{candidate.id}: {candidate.figures.fitness:.3f} could beat the best: "
                f"{len(more)} more seed(s) at beta {more[0].beta:g}"
            )
            self._start_round(candidate, round_ + 1, more)
            return
        candidate.status = CandidateStatus.SCORED
        self._close(candidate)

    def _close(self, candidate: CandidateRecord) -> None:
        """Commit a candidate whose evaluation ended (scored or failed) and tell the observer."""
        candidate.seconds = (now() - candidate.created).total_seconds()
        self.archive.update_candidate(candidate)
        self._finished(candidate)

    def _with(self, candidate: CandidateRecord, trainings: list[SeedResult]) -> EvaluationResult | None:
        """The candidate's figures with `trainings` added (a repeated (seed, beta) replaces the old)."""
        known = {(t.seed, t.beta): t for t in (candidate.figures.seeds if candidate.figures else [])}
        known.update({(t.seed, t.beta): t for t in trainings})
        return self._summary(candidate, list(known.values()), self._noise()) if known else None

    def _summary(
        self, candidate: CandidateRecord, trainings: list[SeedResult], noise: float | None
    ) -> EvaluationResult:
        baseline = self._scored.get(self._baseline_id)
        return summarise(
            candidate.name,
            trainings,
            noise_sd=noise,
            confidence=self.config.racing.confidence,
            baseline=baseline.figures if baseline and candidate.id != self._baseline_id else None,
        )

    def _keep_scored(self, candidate: CandidateRecord) -> None:
        """Hold a candidate among the scored, with its share of the run's noise."""
        self._scored[candidate.id] = candidate
        trainings = candidate.figures.seeds if candidate.figures else []
        self._noise_shares[candidate.id] = noise_share(trainings)

    def _noise(self) -> float | None:
        """The run's seed-to-seed noise, pooled over everything measured so far."""
        return combined_noise(self._noise_shares.values())

    def _summarise_all(self) -> None:
        """Every candidate's figures again, with the run's present seed noise and baseline."""
        noise = self._noise()
        for candidate in self._scored.values():
            assert candidate.figures is not None
            updated = self._summary(candidate, candidate.figures.seeds, noise)
            if updated != candidate.figures:
                candidate.figures = updated
                self.archive.update_candidate(candidate)

    def _incumbent(self, excluding: str) -> EvaluationResult | None:
        """The figures of the run's best, the candidate itself aside."""
        best = self._best(excluding)
        return None if best is None else best.figures

    def _best(self, excluding: str | None = None) -> CandidateRecord | None:
        """The run's best by the archive's rule (`run_best`), `excluding` aside."""
        return run_best((c for c in self._scored.values() if c.id != excluding), self.racing.best_needs)

    def _cached(self, candidate: CandidateRecord, point: TrainingPoint) -> SeedResult | None:
        return self.seed_scores.lookup(candidate.code_hash, point) if candidate.is_seed else None

    def _trained(self, candidate: CandidateRecord, points: list[TrainingPoint]) -> bool:
        """Whether the candidate's figures hold every one of `points`."""
        trainings = candidate.figures.seeds if candidate.figures else []
        return all(self._trained_in(trainings, point) for point in points)

    @staticmethod
    def _trained_in(trainings: list[SeedResult], point: TrainingPoint) -> bool:
        return any(t.seed == point.seed and t.beta == point.beta for t in trainings)

    def _finished(self, candidate: CandidateRecord) -> None:
        self.observer.candidate_finished(candidate, self._best())

    def _job_of(
        self, candidate: CandidateRecord, round_: int | None = None, points: list[TrainingPoint] | None = None
    ) -> CandidateJob:
        """The job of the candidate's round (by default the one its record names)."""
        job = candidate.job
        round_ = round_ if round_ is not None else (job.round if job else 1)
        points = points if points is not None else (job.points if job else [])
        objective = Objective(
            name=candidate.name, source=candidate.code, origin=f"archive:{candidate.run_id}"
        )
        workdir = self.archive.run_dir / "jobs" / candidate.id / f"round{round_}"
        return self.jobs.job(objective, points, workdir)

    # -- limits ------------------------------------------------------------------------------------

    def _can_propose(self) -> bool:
        """Whether another generation may be asked for: generations, candidates, spend and time."""
        if self._generation >= self.config.generations or self._stopping():
            return False
        if self.config.max_candidates is not None and self._proposed >= self.config.max_candidates:
            self._stop_because(f"reached --max-candidates {self.config.max_candidates}")
            return False
        spent = self.archive.cost_spent()
        if self.config.max_cost_usd is not None and spent >= self.config.max_cost_usd:
            self._stop_because(f"reached --max-cost-usd {self.config.max_cost_usd:g} (spent {spent:.2f})")
            return False
        return True

    def _stopping(self) -> bool:
        """Past the time limit: nothing new starts; what runs finishes."""
        limit = self.config.time_limit
        if limit is not None and time.monotonic() - self._started >= limit:
            self._stop_because(f"reached --time-limit {limit:g} s")
            return True
        return self.stopped_reason is not None and self.stopped_reason.startswith("reached --time-limit")

    def _stop_because(self, reason: str) -> None:
        if self.stopped_reason is None:
            self.stopped_reason = reason
            self.observer.notice(f"{reason}: no new candidates; those in flight finish")

    # -- proposing ---------------------------------------------------------------------------

    def _propose_generation(self) -> None:
        """Ask the proposer for one more generation and record it whole (one transaction)."""
        generation = self._generation + 1
        self.observer.generation_started(generation, self.config.generations)
        self.observer.notice(f"generation {generation}: asking the {self.proposer.name} proposer")
        context = self._context(generation)
        proposals = self.proposer.propose(context, self.config.population, self._check)
        shown = _shown(context, list(self._in_flight))
        records = [
            self._record_of(generation, index, proposal, shown) for index, proposal in enumerate(proposals)
        ]
        self.archive.add_candidates(records)  # one transaction: a generation is recorded whole or not
        for record in records:
            self._track(record)
            if record.status is CandidateStatus.INVALID:
                self._finished(record)

    def _check(self, code: str) -> Check:
        """The proposers' pre-check: the exact reason a candidate would be rejected, and the
        sandbox's measure of how it trains."""
        verdict = self._verdict(code)
        if not verdict.ok:
            return Check(f"rejected at the {verdict.stage} stage: {verdict.reason}", None)
        code_hash = Objective(name="probe", source=code, origin="probe").code_hash
        if reason := self._duplicate_of(code_hash, verdict):
            return Check(f"duplicate: {reason}; propose something different", verdict.behaviour)
        return Check(None, verdict.behaviour)

    def _duplicate_of(self, code_hash: str, verdict: Verdict, exclude: str | None = None) -> str | None:
        """Why a valid candidate is no new objective (the same code or behaviour as an original, or
        an original with beta rescaled), or None."""
        if original := self._novelty.original_of(code_hash, verdict.fingerprint, exclude):
            return f"behaves the same as {original.name} ({original.id}) on every probe input"
        rescaled = self._novelty.rescaled_original_of(verdict.beta_profile, exclude)
        if rescaled is None:
            return None
        original, factor = rescaled
        if abs(factor - 1) < 0.03:
            return f"behaves the same as {original.name} ({original.id}) at every beta"
        return (
            f"is {original.name} ({original.id}) with beta multiplied by {factor:.3g}: every objective "
            "is scored at its best beta of a grid, so rescaling beta discovers nothing"
        )

    def _verdict(self, code: str) -> Verdict:
        """Sandbox verdicts by code, so the proposer's pre-check and the loop share one validation."""
        if code not in self._verdicts:
            self._verdicts[code] = self.validator.validate(code)
        return self._verdicts[code]

    def _context(self, generation: int) -> ProposalContext:
        return ProposalContext(
            run_id=self.archive.run().id,
            generation=generation,
            evaluator=self.evaluator.name,
            figures=self.evaluator.figures(),
            best=self.archive.leaderboard(top=self.config.context_best),
            recent=self.archive.recent_proposals(self.config.context_recent),
        )

    def _record_of(self, generation: int, index: int, proposal: Proposal, shown: dict) -> CandidateRecord:
        """The candidate record of a proposal, after storing the LLM exchanges that produced it."""
        exchange_id = None
        for exchange in proposal.exchanges:
            exchange_id = self.archive.add_exchange(exchange)
        if proposal.exchanges:
            self.observer.llm_spend(*self.archive.tokens_spent())
        objective = Objective(name=proposal.name, source=proposal.code, origin="proposal")
        candidate = CandidateRecord(
            id=f"g{generation}-c{index + 1}",
            run_id=self.archive.run().id,
            generation=generation,
            name=proposal.name,
            thought=proposal.thought,
            code=proposal.code,
            code_hash=objective.code_hash,
            parents=proposal.parents,
            exchange_id=exchange_id,
            context=shown,
        )
        if proposal.error:
            candidate.status = CandidateStatus.INVALID
            candidate.stage, candidate.reason = "reply", proposal.error
        return candidate


def _shown(context: ProposalContext, in_flight: list[str]) -> dict:
    """What a proposal was made from: ids and fitness of the candidates shown, and those in flight."""
    return {
        "best": [[c.id, c.fitness] for c in context.best],
        "recent": [c.id for c in context.recent],
        "in_flight": in_flight,
    }
