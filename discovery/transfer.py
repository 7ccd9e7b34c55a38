"""Held-out transfer: do a run's discoveries survive on variants of the task the search never saw?

The search picks its winners on one task, one data seed, one model size and one beta grid, so part of
what wins is fitted to those. At the end of a run (and with `discover transfer RUN`), the top
proposals and the baseline are trained again on each of the evaluator's held-out variants (another
data seed, a larger model, a beta between the grid's points), on the same seeds, and each is paired
with the baseline there. A discovery survives a variant when it still beats the baseline on it.
The rank correlation between the search's figures and a variant's, over the objectives transferred,
says how much of the search's ranking carries over.

Each variant's results are committed to the archive as soon as its trainings are in; running the
transfer again does only what is missing, so an interrupted transfer loses little.
"""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.execution.batch import Trainings, train_objectives
from discovery.execution.executor import Executor
from discovery.execution.job import CandidateJob, JobOutcome, JobSettings
from discovery.fitness import spearman, summarise
from discovery.objectives import Objective
from discovery.records import CandidateRecord, EvaluationResult, TrainingPoint, TransferRecord
from evaluators import Evaluator, get_evaluator
from evaluators.base import TransferVariant

TRANSFER_FOLDER = "transfer"


@dataclass
class TransferSummary:
    """What a run's transfer found: per candidate and variant the figures, which discoveries
    survive, and per variant the rank correlation with the search."""

    variants: list[TransferVariant]
    candidates: list[CandidateRecord]  # the baseline first, then the top proposals
    results: dict[tuple[str, str], TransferRecord] = field(default_factory=dict)  # (variant, id)

    def survives(self, candidate_id: str, variant: str) -> bool | None:
        """Whether the candidate beats the baseline on the variant (None when unknown)."""
        record = self.results.get((variant, candidate_id))
        paired = record.result.paired if record and record.result else None
        return None if paired is None else paired.difference > 0

    def rank_correlation(self, variant: str) -> float | None:
        """Spearman's rho between search fitness and the variant's, over what both measured."""
        pairs = [
            (candidate.fitness, record.result.fitness)
            for candidate in self.candidates
            if (record := self.results.get((variant, candidate.id)))
            and record.result
            and candidate.fitness is not None
        ]
        if len(pairs) < 3 or len({a for a, _ in pairs}) < 2 or len({b for _, b in pairs}) < 2:
            return None
        return spearman([a for a, _ in pairs], [b for _, b in pairs])


def transfer_candidates(archive: Archive, top: int) -> list[CandidateRecord]:
    """The baseline and the `top` best-ranked proposals (seeds aside), best first; none when there
    is no scored baseline to pair them with or no scored proposal."""
    config = archive.run().config
    board = archive.leaderboard()
    baseline = [c for c in board if c.is_seed and c.id == f"seed-{config.racing.baseline}"]
    proposals = [c for c in board if not c.is_seed][:top]
    return baseline + proposals if baseline and proposals else []


def summary(archive: Archive, evaluator: Evaluator, top: int) -> TransferSummary:
    """The transfer results the archive holds for the run's current top candidates."""
    found = TransferSummary(evaluator.transfer_variants(), transfer_candidates(archive, top))
    for record in archive.transfers():
        found.results[(record.variant, record.candidate_id)] = record
    return found


def run_transfer(
    archive: Archive,
    evaluator: Evaluator,
    executor: Executor,
    top: int,
    seeds: int,
    notice=lambda message: None,
) -> TransferSummary:
    """Train what is missing of the transfer (every variant, the baseline and the top proposals,
    `seeds` seeds each), committing each variant's results once its trainings are in; returns the
    whole summary.

    Every variant's trainings go through one batch, so no slot idles at the end of a variant, and
    the variants whose task must be built first (another data seed, a larger model) are built in
    the background while the slots train the others: the search's own task goes first."""
    current = summary(archive, evaluator, top)
    if not current.candidates or not current.variants:
        return current
    pending = [
        (variant, missing)
        for variant in sorted(current.variants, key=lambda variant: bool(variant.options))
        if (missing := [c for c in current.candidates if (variant.name, c.id) not in current.results])
    ]
    for variant, missing in pending:
        notice(f"transfer: {variant.name} ({variant.description}): {len(missing)} objective(s)")
    missing_of = {variant.name: missing for variant, missing in pending}
    joined_of: dict[str, dict[str, JobOutcome]] = {name: {} for name in missing_of}  # by candidate id

    def ended(trainings: Trainings, job: CandidateJob, outcome: JobOutcome) -> None:
        """One seed of a candidate on a variant."""
        variant, candidate = trainings.key
        state = "done" if outcome.trainings else "failed"
        notice(f"transfer {variant.name}: {candidate.id} {job.workdir.name} {state}")

    def joined(trainings: Trainings, outcome: JobOutcome) -> None:
        """All seeds of a candidate on a variant; a variant whose candidates are all in is committed."""
        variant, candidate = trainings.key
        outcomes = joined_of[variant.name]
        outcomes[candidate.id] = outcome
        if len(outcomes) == len(missing_of[variant.name]):
            _record(archive, current, variant, missing_of[variant.name], outcomes)

    def objectives() -> Iterator[Trainings]:
        """Each variant's candidates once its task is there."""
        config = archive.run().config  # read in this thread: the archive's connection belongs to it
        builds = _in_background(
            [
                partial(_variant_settings, config, variant, evaluator.cache_dir, notice)
                for variant, _ in pending
            ]
        )
        for (variant, missing), built in zip(pending, builds, strict=True):
            settings = built.result()
            for candidate in missing:
                yield _trainings(settings, candidate, variant, seeds, archive.run_dir / TRANSFER_FOLDER)

    train_objectives(executor, objectives(), joined, on_job=ended)
    return current


def _variant_settings(config: RunConfig, variant: TransferVariant, cache_dir: Path, notice) -> JobSettings:
    """The job settings of the run's task changed as the variant says, built first if need be."""
    variant_evaluator = get_evaluator(
        config.evaluator, {**config.evaluator_options, **variant.options}, cache_dir
    )
    phases: list[str] = []

    def progress(phase: str, fraction: float | None) -> None:
        """A line per phase of the build, not per step of it."""
        if phase not in phases[-1:]:
            phases.append(phase)
            notice(f"transfer {variant.name}: {phase}")

    variant_evaluator.prepare(progress)
    return JobSettings.of(variant_evaluator)


def _in_background(builds: list[Callable[[], JobSettings]]) -> list[Future[JobSettings]]:
    """Run `builds` one after another in a daemon thread: an interrupted transfer does not wait for
    a build (a task's cache is renamed into place only when complete, so none is left half-built)."""
    futures: list[Future[JobSettings]] = [Future() for _ in builds]

    def work() -> None:
        for build, future in zip(builds, futures, strict=True):
            try:
                future.set_result(build())
            except BaseException as error:  # raised again where the jobs are taken, in the caller
                future.set_exception(error)

    threading.Thread(target=work, name="transfer-builds", daemon=True).start()
    return futures


def _trainings(
    settings: JobSettings, candidate: CandidateRecord, variant: TransferVariant, seeds: int, folder: Path
) -> Trainings:
    """The candidate's trainings on the variant, `seeds` seeds at its search's best beta times the
    variant's factor, in `folder/<variant>/<candidate>/seed<k>`."""
    metrics = candidate.figures
    assert metrics is not None
    beta = None if metrics.best_beta is None else metrics.best_beta * variant.beta_factor
    objective = Objective(name=candidate.name, source=candidate.code, origin=f"archive:{candidate.run_id}")
    return Trainings(
        key=(variant, candidate),
        settings=settings,
        objective=objective,
        points=[TrainingPoint(seed=seed, beta=beta) for seed in range(seeds)],
        folder=folder / variant.name / candidate.id,
    )


def _record(
    archive: Archive,
    current: TransferSummary,
    variant: TransferVariant,
    candidates: list[CandidateRecord],
    outcomes: dict[str, JobOutcome],
) -> None:
    """Summarise each candidate's trainings on the variant, paired with the baseline's, and commit."""
    baseline_id = current.candidates[0].id
    known = current.results.get((variant.name, baseline_id))
    baseline: EvaluationResult | None = known.result if known else None
    if baseline is None and (outcome := outcomes.get(baseline_id)) and outcome.trainings:
        baseline = summarise(current.candidates[0].name, outcome.trainings)
    for candidate in candidates:
        outcome = outcomes.get(candidate.id)
        result = None
        if outcome and outcome.trainings:
            paired_with = None if candidate.id == baseline_id else baseline
            result = summarise(candidate.name, outcome.trainings, baseline=paired_with)
        record = TransferRecord(
            run_id=candidate.run_id,
            variant=variant.name,
            candidate_id=candidate.id,
            name=candidate.name,
            result=result,
            failure=None if result else (outcome.failure if outcome else "not trained"),
        )
        archive.add_transfer(record)
        current.results[(variant.name, candidate.id)] = record
