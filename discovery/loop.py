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
evaluations were lost `executor.attempts` times fails instead), and proposals already recorded are
evaluated rather than proposed anew.

A candidate is evaluated in racing rounds (`discovery.racing`): a first estimate at every beta,
then, while it could still beat the incumbent, more seeds at its best beta, each round a job of its
own that keeps the slot. Its figures (`discovery.fitness`) are committed after every round, and
everyone's are summarised again once the baseline's are known and when the run ends, so that every
interval uses the run's pooled seed noise and every candidate is paired with the baseline.

The loop only schedules; what it asks along the way lives beside it: `discovery.screening` (is a
proposal valid and new?), `discovery.standings` (the figures with the run's noise, and who leads),
`discovery.limits` (may another generation be proposed, may anything start?),
`discovery.population` (which island each proposal belongs to, what each island holds and is shown,
the behaviour map's elites) and `discovery.observer` (what a display is told).
"""

from dataclasses import dataclass

from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.execution.executor import Executor, JobState, JobStatus
from discovery.execution.job import CandidateJob, JobOutcome, JobSettings
from discovery.limits import Limits, Stop
from discovery.objectives import Objective, load_objective
from discovery.observer import LoopObserver
from discovery.population.behaviour import elites
from discovery.population.islands import events_before, island_best, island_of_slot
from discovery.proposers.base import Proposal, ProposalContext, Proposer
from discovery.racing import Racing
from discovery.records import (
    CandidateRecord,
    CandidateStatus,
    IslandEvent,
    IslandEventKind,
    JobRef,
    ReportedFigures,
    RunRecord,
    RunStatus,
    SeedResult,
    SummaryRecord,
    TrainingPoint,
    now,
)
from discovery.sandbox import Validator
from discovery.screening import Screening
from discovery.seed_scores import SeedScoreCache
from discovery.standings import Standings
from evaluators import Evaluator

_POLL_SECONDS = 1.0


def run_jobs(config: RunConfig, evaluator: Evaluator) -> JobSettings:
    """What every job of a run shares: the evaluator, rebuilt in the worker, and the run's training
    timeout (the evaluator's own deadline when unset)."""
    return JobSettings.of(evaluator, training_timeout=config.executor.training_timeout)


@dataclass
class _InFlight:
    """A candidate whose job runs: the record and the job."""

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
        validator: Validator,
        seed_scores: SeedScoreCache,
        observer: LoopObserver,
    ) -> None:
        self.archive = archive
        self.config = config
        self.proposer = proposer
        self.evaluator = evaluator
        self.executor = executor
        self.seed_scores = seed_scores
        self.observer = observer
        self.proposer.attach(archive)  # a proposer's state lives in the archive, so resuming keeps it
        self.jobs = run_jobs(config, evaluator)
        self.screening = Screening(validator)
        self.standings = Standings(config.racing.baseline, config.racing.confidence, config.best_needs)
        self.limits = Limits(
            config, spent=archive.cost_spent, trainings=self.standings.trainings, notice=observer.notice
        )
        seeds = config.seed_list
        self.racing = Racing(
            seeds=seeds,
            betas=list(evaluator.betas()),
            first_seeds=min(config.racing.first_seeds, len(seeds)),
            best_needs=config.best_needs,
        )
        self._in_flight: dict[str, _InFlight] = {}
        self._waiting: list[CandidateRecord] = []  # proposed or validated, not yet submitted
        self._generation = 0  # the latest generation proposed
        self._proposed = 0  # candidates proposed in the whole run

    # -- the whole run ---------------------------------------------------------------------------

    def run(self) -> RunRecord:
        """Prepare the task and mark the run running, seed it (once) and take in what the archive
        holds; then, until the run's limits, collect the jobs that ended and record them (a
        candidate races on or is closed), validate and deduplicate what waits and submit it while a
        slot is free, and propose a generation whenever a slot would idle; finally summarise every
        candidate with the run's final noise and mark the run finished.

        Nothing is written before the task is ready, so a resume that cannot start (the task cannot
        be built) leaves the run as it was.
        """
        self._prepare()
        self._seed()
        self._track_stored()
        while True:
            self._collect()  # ended jobs recorded: each candidate races on, or is closed
            self._advance_waiting()  # proposals validated and deduplicated; the valid submitted
            if self._generation_wanted():
                self._propose_generation()  # recorded whole, then waiting its turn
            elif self._done():
                break
            else:
                self.executor.wait(_POLL_SECONDS)
        self._summarise_all()
        return self._finish()

    @property
    def stop(self) -> Stop | None:
        """The limit that stopped the run short of its generations, if one did."""
        return self.limits.stop

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

    def _prepare(self) -> None:
        """Show the run, build the task, then mark the run running with this run's configuration."""
        run = self.archive.run()
        self.observer.run_started(run, self.proposer.name)
        self.observer.llm_spend(*self.archive.tokens_spent())
        self.evaluator.prepare(self.observer.task_progress)
        self.archive.update_run(run.model_copy(update={"config": self.config, "status": RunStatus.RUNNING}))

    def _seed(self) -> None:
        """Add the shipped objectives as generation-0 candidates (once per run), the baseline first
        (every candidate is compared with it) and whether or not it was named."""
        known = {c.id for c in self.archive.candidates(generation=0)}
        seeds = []
        for name in self.config.seed_objective_names:
            objective = load_objective(name)
            if f"seed-{objective.name}" in known:
                continue
            seeds.append(
                CandidateRecord.of(
                    objective,
                    id=f"seed-{objective.name}",
                    run_id=self.archive.run().id,
                    generation=0,
                    is_seed=True,
                    reported=ReportedFigures.of_shipped(objective.name),
                )
            )
        self.archive.add_candidates(seeds)

    def _track_stored(self) -> None:
        """Take in the run's stored candidates (the only full read of them), each shown as known: a
        resumed run starts from its standing, best and seeds scored."""
        for candidate in self.archive.candidates():
            self._track(candidate)
            self.observer.candidate_known(candidate)

    def _track(self, candidate: CandidateRecord) -> None:
        """Take a stored candidate into the loop's bookkeeping, wherever it stands."""
        self.screening.know(candidate)
        self._generation = max(self._generation, candidate.generation)
        self._proposed += not candidate.is_seed
        if candidate.figures is not None and candidate.status is not CandidateStatus.FAILED:
            self.standings.keep(candidate)
        if candidate.status is CandidateStatus.RUNNING:
            self._in_flight[candidate.id] = _InFlight(candidate, self._job_of(candidate))
        elif candidate.status in (CandidateStatus.PROPOSED, CandidateStatus.VALIDATED):
            self._waiting.append(candidate)

    def _generation_wanted(self) -> bool:
        """Whether to propose now: the limits allow another generation, a slot is free and no
        candidate waits for it."""
        return (
            self.limits.allow_generation(self._generation, self._proposed)
            and len(self._in_flight) < self.executor.slots
            and not self._waiting
        )

    def _done(self) -> bool:
        """Nothing in flight, and nothing waiting that may still start."""
        return not self._in_flight and (not self._waiting or self.limits.draining())

    def _summarise_all(self) -> None:
        """Every candidate's figures again, with the run's present seed noise and baseline, committed."""
        for candidate in self.standings.resummarised():
            self.archive.update_candidate(candidate)

    def _finish(self) -> RunRecord:
        run = self.archive.run()
        run.generations_done = self._generation
        run.status = RunStatus.FINISHED
        run.ended = now()
        self.archive.update_run(run)
        return run

    # -- the candidates on their way --------------------------------------------------------------

    def _advance_waiting(self) -> None:
        """Screen what was proposed; submit what is valid, oldest first, while a slot is free."""
        for candidate in list(self._waiting):
            if candidate.status is CandidateStatus.PROPOSED:
                self._screen(candidate)
            if candidate.status is not CandidateStatus.VALIDATED:
                self._waiting.remove(candidate)
                continue
            if len(self._in_flight) >= self.executor.slots or self.limits.draining():
                return
            self._waiting.remove(candidate)
            self._start(candidate)

    def _screen(self, candidate: CandidateRecord) -> None:
        """Validate and deduplicate a proposal (`Screening`), committed; one that will not train ends here."""
        self.observer.candidate_phase(candidate, "validating", None)
        self.screening.screen(candidate)
        self.archive.update_candidate(candidate)
        if candidate.status is not CandidateStatus.VALIDATED:
            self._finished(candidate)

    def _start(self, candidate: CandidateRecord) -> None:
        """Start the candidate's next racing round: its unfinished one (a job that was lost or
        cancelled), else the first."""
        job = candidate.job
        if job is not None and job.points and not self._trained(candidate, job.points):
            self._start_round(candidate, job.round, job.points)
        else:
            complete = candidate.id == self.standings.baseline_id  # the baseline trains every seed
            self._start_round(candidate, 1, self.racing.first_round(complete=complete))

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
        if candidate.attempts >= self.config.executor.attempts:
            lost = candidate.attempts
            failure = f"its evaluation ended the process running it {lost} times; not tried again"
            self._record(candidate, JobOutcome(failure=failure))
            return
        job = self._job_of(candidate, round_, missing)
        job.workdir.mkdir(parents=True, exist_ok=True)
        (job.workdir / "outcome.json").unlink(missing_ok=True)
        candidate.figures = self.standings.with_trainings(candidate, cached)
        candidate.attempts += 1
        candidate.job = JobRef(
            executor=self.executor.kind, id=self.executor.submit(job), round=round_, points=missing
        )
        candidate.status = CandidateStatus.RUNNING
        self.archive.update_candidate(candidate)
        self._in_flight[candidate.id] = _InFlight(candidate, job)
        self.observer.candidate_phase(candidate, "submitted", None)

    def _collect(self) -> None:
        """Record every job that ended (a lost one's candidate waits again, first in line); pass on
        the progress of the others."""
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
            self.standings.drop(candidate.id)
            self._close(candidate)
            return
        if candidate.is_seed:
            self.seed_scores.store(candidate.code_hash, outcome.trainings)
        self._round_finished(candidate, candidate.job.round if candidate.job else 1, outcome.trainings)

    def _round_finished(self, candidate: CandidateRecord, round_: int, trainings: list[SeedResult]) -> None:
        """Add a round's trainings to the candidate's figures; race on, or close it."""
        candidate.figures = self.standings.with_trainings(candidate, trainings)
        self.standings.keep(candidate)
        baseline = candidate.id == self.standings.baseline_id
        if baseline:
            self._summarise_all()  # every interval and comparison can lean on the baseline now
        more = (
            []
            if baseline
            else self.racing.next_round(candidate.figures, self.standings.incumbent(candidate.id))
        )
        if more and not self.limits.draining():
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

    def _finished(self, candidate: CandidateRecord) -> None:
        self.observer.candidate_finished(candidate, self.standings.best())

    def _cached(self, candidate: CandidateRecord, point: TrainingPoint) -> SeedResult | None:
        return self.seed_scores.lookup(candidate.code_hash, point) if candidate.is_seed else None

    def _trained(self, candidate: CandidateRecord, points: list[TrainingPoint]) -> bool:
        """Whether the candidate's figures hold every one of `points`."""
        trainings = candidate.figures.seeds if candidate.figures else []
        return all(self._trained_in(trainings, point) for point in points)

    @staticmethod
    def _trained_in(trainings: list[SeedResult], point: TrainingPoint) -> bool:
        return any(t.seed == point.seed and t.beta == point.beta for t in trainings)

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

    # -- proposing ---------------------------------------------------------------------------

    def _propose_generation(self) -> None:
        """Ask the proposer for one more generation, once per island with slots in it, and record it
        whole (one transaction), after the islands' migrations and reseeds that precede it."""
        generation = self._generation + 1
        self.observer.generation_started(generation, self.config.generations)
        self.observer.notice(f"generation {generation}: asking the {self.proposer.name} proposer")
        seeds = self.archive.candidates(generation=0)
        ranked = self.archive.leaderboard()
        events = self._island_events(generation, [seed.id for seed in seeds], ranked)
        slots = self._slots(generation)
        records: list[CandidateRecord | None] = [None] * self.config.population
        for island, indexes in slots.items():
            context = self._summarised(self._context(generation, island, seeds, ranked, events))
            shown = _shown(context, list(self._in_flight))
            proposals = self.proposer.propose(context, len(indexes), self.screening.check)
            for index, proposal in zip(indexes, proposals, strict=False):
                records[index] = self._record_of(generation, index, proposal, shown, island)
        recorded = [record for record in records if record is not None]
        self.archive.add_candidates(recorded)  # one transaction: a generation is recorded whole or not
        for record in recorded:
            self._track(record)
            if record.status is CandidateStatus.INVALID:
                self._finished(record)

    def _slots(self, generation: int) -> dict[int | None, list[int]]:
        """The proposals of `generation` by island (None: the run has no islands), in slot order."""
        search, population = self.config.search, self.config.population
        if search.islands < 2:
            return {None: list(range(population))}
        slots: dict[int | None, list[int]] = {}
        for slot in range(population):
            slots.setdefault(island_of_slot(generation, slot, population, search.islands), []).append(slot)
        return dict(sorted(slots.items()))

    def _island_events(
        self, generation: int, seeds: list[str], ranked: list[CandidateRecord]
    ) -> list[IslandEvent]:
        """Every island event up to `generation`: those before it as recorded, and its own, decided
        now and committed unless a run killed before recording this generation already did."""
        events = self.archive.island_events()
        if any(event.generation == generation for event in events):
            return events
        new = events_before(generation, self.archive.run().id, self.config.search, seeds, ranked, events)
        self.archive.add_island_events(new)
        for event in new:
            kind = "reseeded from the seeds" if event.kind is IslandEventKind.RESEED else "received"
            self.observer.notice(f"island {event.island} {kind}: {', '.join(event.candidates)}")
        return [*events, *new]

    def _context(
        self,
        generation: int,
        island: int | None,
        seeds: list[CandidateRecord],
        ranked: list[CandidateRecord],
        events: list[IslandEvent],
    ) -> ProposalContext:
        """What the proposer is shown for `island`: that island's best (the whole leaderboard's
        without islands) and, with the behaviour map, the elites of cells those best do not reach."""
        top = self.config.context_best
        if island is None:
            best = ranked[:top]
        else:
            best = island_best(island, [seed.id for seed in seeds], ranked, events)[:top]
        return ProposalContext(
            run_id=self.archive.run().id,
            generation=generation,
            evaluator=self.evaluator.name,
            figures=self.evaluator.figures(),
            best=best,
            recent=self.archive.recent_proposals(self.config.context_recent),
            seeds=seeds,
            island=island,
            elites=self._elites(best, ranked) if self.config.search.behaviour_map else [],
            summary=summaries[-1].text if (summaries := self.archive.summaries()) else None,
        )

    def _elites(self, best: list[CandidateRecord], ranked: list[CandidateRecord]) -> list[CandidateRecord]:
        """The best candidate of each occupied cell that `best` does not reach, best cell first."""
        reached = {candidate.cell for candidate in best}
        others = [elite for cell, elite in elites(ranked).items() if cell not in reached]
        return others[: self.config.context_best]

    def _summarised(self, context: ProposalContext) -> ProposalContext:
        """The context with the proposer's meta-summary for its generation, when one is due and not
        yet written (a resumed generation does not ask again), stored with its exchanges first."""
        if any(summary.generation == context.generation for summary in self.archive.summaries()):
            return context
        written = self.proposer.summarise(context)
        if written is None:
            return context
        exchange_ids = [self.archive.add_exchange(exchange) for exchange in written.exchanges]
        self.observer.llm_spend(*self.archive.tokens_spent())
        if written.text is None:
            return context
        record = SummaryRecord(
            run_id=context.run_id,
            generation=context.generation,
            text=written.text,
            exchange_id=exchange_ids[-1],
        )
        self.archive.add_summary(record)
        return context.model_copy(update={"summary": written.text})

    def _record_of(
        self, generation: int, index: int, proposal: Proposal, shown: dict, island: int | None
    ) -> CandidateRecord:
        """The candidate record of a proposal, after storing the LLM exchanges that produced it."""
        exchange_id = None
        for exchange in proposal.exchanges:
            exchange_id = self.archive.add_exchange(exchange)
        if proposal.exchanges:
            self.observer.llm_spend(*self.archive.tokens_spent())
        candidate = CandidateRecord.of(
            Objective(name=proposal.name, source=proposal.code, origin="proposal"),
            id=f"g{generation}-c{index + 1}",
            run_id=self.archive.run().id,
            generation=generation,
            thought=proposal.thought,
            parents=proposal.parents,
            exchange_id=exchange_id,
            context=shown,
            island=island,
        )
        if proposal.error:
            candidate.status = CandidateStatus.INVALID
            candidate.stage, candidate.reason = "reply", proposal.error
        return candidate


def _shown(context: ProposalContext, in_flight: list[str]) -> dict:
    """What a proposal was made from: ids and fitness of the candidates shown, and those in flight
    (and the elites of other cells, when the behaviour map showed any)."""
    shown: dict = {
        "best": [[c.id, c.fitness] for c in context.best],
        "recent": [c.id for c in context.recent],
        "in_flight": in_flight,
    }
    if context.elites:
        shown["elites"] = [[c.id, c.cell, c.fitness] for c in context.elites]
    return shown
