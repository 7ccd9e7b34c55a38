"""The outer loop: propose, validate, deduplicate, evaluate, record; one generation after another.

Every state change of a candidate is committed to the archive before the next step starts, so a
run killed at any moment resumes from the archive alone: scored candidates stay scored, candidates
that were validated but not scored are trained again, and a generation whose proposals were already
recorded is finished rather than proposed anew.
"""

import time
from typing import Protocol

from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.execution.job import JobOutcome, JobSettings
from discovery.execution.local import LocalExecutor, WorkerLost
from discovery.objectives import Objective, load_objective, shipped_catalog
from discovery.objectives.objective import reported_source
from discovery.proposers.base import Check, Proposal, ProposalContext, Proposer
from discovery.records import (
    CandidateRecord,
    CandidateStatus,
    ReportedFigures,
    RunRecord,
    RunStatus,
    now,
)
from discovery.sandbox import Validator, Verdict, same_objective
from discovery.seed_scores import SeedScoreCache
from evaluators import Evaluator

MAX_ATTEMPTS = 2


class LoopObserver(Protocol):
    """What a display needs to follow a run; every method must be cheap."""

    def run_started(self, run: RunRecord, proposer: str) -> None: ...
    def llm_spend(self, prompt_tokens: int, completion_tokens: int) -> None: ...
    def generation_started(self, generation: int, total: int) -> None: ...
    def candidate_phase(self, candidate: CandidateRecord, phase: str, fraction: float | None) -> None: ...
    def candidate_finished(self, candidate: CandidateRecord) -> None: ...
    def notice(self, message: str) -> None: ...


class SilentObserver:
    """An observer that shows nothing (used with --json and in tests)."""

    def run_started(self, run: RunRecord, proposer: str) -> None:
        pass

    def llm_spend(self, prompt_tokens: int, completion_tokens: int) -> None:
        pass

    def generation_started(self, generation: int, total: int) -> None:
        pass

    def candidate_phase(self, candidate: CandidateRecord, phase: str, fraction: float | None) -> None:
        pass

    def candidate_finished(self, candidate: CandidateRecord) -> None:
        pass

    def notice(self, message: str) -> None:
        pass

    def __enter__(self) -> "SilentObserver":
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


class DiscoveryLoop:
    """One run of the outer loop over an open archive."""

    def __init__(
        self,
        archive: Archive,
        config: RunConfig,
        proposer: Proposer,
        evaluator: Evaluator,
        executor: LocalExecutor,
        jobs: JobSettings,
        validator: Validator,
        seed_scores: SeedScoreCache,
        observer: LoopObserver,
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
        self._verdicts: dict[str, Verdict] = {}

    # -- the whole run ---------------------------------------------------------------------------

    def run(self) -> RunRecord:
        """Prepare the task, mark the run running (with this run's configuration), seed it (once),
        run the remaining generations, then mark it finished.

        Nothing is written before the task is ready, so a resume that cannot start (the task cannot
        be built) leaves the run as it was.
        """
        run = self.archive.run()
        self.observer.run_started(run, self.proposer.name)
        self.observer.llm_spend(*self.archive.tokens_spent())
        self.evaluator.prepare(lambda phase, fraction: self.observer.notice(f"preparing task: {phase}"))
        run = run.model_copy(update={"config": self.config, "status": RunStatus.RUNNING})
        self.archive.update_run(run)
        self._seed()
        for generation in range(run.generations_done + 1, self.config.generations + 1):
            self.observer.generation_started(generation, self.config.generations)
            self._run_generation(generation)
            run.generations_done = generation
            self.archive.update_run(run)
        run.status = RunStatus.FINISHED
        run.ended = now()
        self.archive.update_run(run)
        return run

    def _seed(self) -> None:
        """Add the shipped objectives as generation-0 candidates and score each once."""
        known = {c.id for c in self.archive.candidates(generation=0)}
        catalog = shipped_catalog()
        for name in self.config.seed_objectives or list(catalog):
            objective = load_objective(name)
            candidate_id = f"seed-{objective.name}"
            if candidate_id not in known:
                self.archive.add_candidate(
                    CandidateRecord(
                        id=candidate_id,
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
        for candidate in self.archive.candidates(generation=0):
            self._advance(candidate)

    def _run_generation(self, generation: int) -> None:
        """Propose (unless this generation's proposals were recorded before a crash), then advance each."""
        pending = self.archive.candidates(generation=generation)
        if not pending:
            proposals = self._propose(generation)
            pending = [
                self._record_of(generation, index, proposal) for index, proposal in enumerate(proposals)
            ]
            # one transaction: a generation's proposals are recorded whole or not at all
            self.archive.add_candidates(pending)
        for candidate in pending:
            self._advance(candidate)

    # -- one candidate -----------------------------------------------------------------------

    def _advance(self, candidate: CandidateRecord) -> None:
        """Take a candidate from whatever state it is in to a final one, committing each step."""
        started = time.perf_counter()
        if candidate.status == CandidateStatus.PROPOSED:
            candidate = self._validate(candidate)
        if candidate.status == CandidateStatus.VALIDATED:
            candidate = self._evaluate(candidate)
        if candidate.seconds is None:
            candidate.seconds = time.perf_counter() - started
            self.archive.update_candidate(candidate)
        self.observer.candidate_finished(candidate)

    def _validate(self, candidate: CandidateRecord) -> CandidateRecord:
        self.observer.candidate_phase(candidate, "validating", None)
        verdict = self._verdict(candidate.code)
        candidate.fingerprint = verdict.fingerprint
        if not verdict.ok:
            candidate.status, candidate.stage, candidate.reason = (
                CandidateStatus.INVALID,
                verdict.stage,
                verdict.reason,
            )
        elif (original := self._duplicate_of(candidate)) is not None:
            candidate.status = CandidateStatus.DUPLICATE
            candidate.reason = f"behaves the same as {original.name} ({original.id}) on every probe input"
        else:
            candidate.status = CandidateStatus.VALIDATED
        self.archive.update_candidate(candidate)
        return candidate

    def _evaluate(self, candidate: CandidateRecord) -> CandidateRecord:
        """Train and score a validated candidate; any failure of it is recorded as its own.

        A seed's figures come from the seed-score cache when it has them; fresh ones are cached only
        once the archive holds them, so a cache that cannot be written costs a warning, never a score.
        """
        metrics = self.seed_scores.lookup(candidate.code_hash) if candidate.is_seed else None
        measured = metrics is None
        if measured:
            outcome = self._run_job(candidate)
            candidate.isolation = outcome.isolation
            if outcome.result is None:
                candidate.status, candidate.reason = CandidateStatus.FAILED, outcome.failure
                self.archive.update_candidate(candidate)
                return candidate
            metrics = outcome.result
        candidate.metrics = metrics.model_copy(update={"objective": candidate.name})
        candidate.status = CandidateStatus.SCORED
        self.archive.update_candidate(candidate)
        if candidate.is_seed and measured:
            self.seed_scores.store(candidate.code_hash, metrics)
        return candidate

    def _run_job(self, candidate: CandidateRecord) -> JobOutcome:
        """The candidate's job, tried again if the process running it died, at most `MAX_ATTEMPTS`
        times over the run's whole life: each attempt is committed before it starts, so a candidate
        whose training keeps killing the process (and `discover` with it) fails on resume."""
        objective = Objective(
            name=candidate.name, source=candidate.code, origin=f"archive:{candidate.run_id}"
        )
        job = self.jobs.job(
            objective, self.config.training_seeds, self.archive.run_dir / "jobs" / candidate.id
        )
        while candidate.attempts < MAX_ATTEMPTS:
            candidate.attempts += 1
            self.archive.update_candidate(candidate)
            try:
                return self.executor.evaluate(
                    job, lambda phase, fraction: self.observer.candidate_phase(candidate, phase, fraction)
                )
            except WorkerLost as lost:
                self.observer.notice(f"{lost}; trying {candidate.id} again")
        return JobOutcome(
            failure=f"its evaluation ended the process running it {MAX_ATTEMPTS} times; not tried again"
        )

    def _verdict(self, code: str) -> Verdict:
        """Sandbox verdicts by code, so the proposer's pre-check and the loop share one validation."""
        if code not in self._verdicts:
            self._verdicts[code] = self.validator.validate(code)
        return self._verdicts[code]

    def _duplicate_of(self, candidate: CandidateRecord) -> CandidateRecord | None:
        """An archived candidate with the same code or the same behaviour, if any."""
        for other in self.archive.candidates():
            if other.id == candidate.id or other.status in (
                CandidateStatus.INVALID,
                CandidateStatus.DUPLICATE,
            ):
                continue
            if other.code_hash == candidate.code_hash:
                return other
            if (
                other.fingerprint
                and candidate.fingerprint
                and same_objective(other.fingerprint, candidate.fingerprint)
            ):
                return other
        return None

    # -- proposing ---------------------------------------------------------------------------

    def _propose(self, generation: int) -> list[Proposal]:
        self.observer.notice(f"generation {generation}: asking the {self.proposer.name} proposer")
        return self.proposer.propose(self._context(generation), self.config.population, self._check)

    def _check(self, code: str) -> Check:
        """The proposers' pre-check: the exact reason a candidate would be rejected, and the
        sandbox's measure of how it trains."""
        verdict = self._verdict(code)
        if not verdict.ok:
            return Check(f"rejected at the {verdict.stage} stage: {verdict.reason}", None)
        probe = CandidateRecord(
            id="", run_id="", generation=0, name="", thought="", code=code,
            code_hash=Objective(name="probe", source=code, origin="probe").code_hash,
            fingerprint=verdict.fingerprint,
        )  # fmt: skip
        original = self._duplicate_of(probe)
        if original is not None:
            reason = (
                f"duplicate: behaves the same as {original.name} ({original.id}); propose something different"
            )
            return Check(reason, verdict.behaviour)
        return Check(None, verdict.behaviour)

    def _context(self, generation: int) -> ProposalContext:
        proposals = [c for c in self.archive.candidates() if not c.is_seed]
        return ProposalContext(
            run_id=self.archive.run().id,
            generation=generation,
            evaluator=self.evaluator.name,
            figures=self.evaluator.figures(),
            best=self.archive.leaderboard(top=self.config.context_best),
            recent=proposals[-self.config.context_recent :] if self.config.context_recent else [],
        )

    def _record_of(self, generation: int, index: int, proposal: Proposal) -> CandidateRecord:
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
        )
        if proposal.error:
            candidate.status = CandidateStatus.INVALID
            candidate.stage, candidate.reason = "reply", proposal.error
        return candidate
