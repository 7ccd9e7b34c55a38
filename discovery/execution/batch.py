"""A batch of jobs through any executor, its slots kept busy: for work that is not the loop's
(`discover evaluate`, held-out transfer, benchmarks), where none depends on another's outcome. The
jobs may come from an iterator that is still making them (a task still being built): a slot takes the
next when it frees.

`train_objectives` is the batch both commands run: objectives trained at given (seed, beta) points,
one job per objective and seed, so that every slot stays busy however the seeds and objectives
divide, and each objective's outcome joined from its jobs' as if one job had trained them all.
"""

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from discovery.execution.executor import Executor, JobState
from discovery.execution.job import CandidateJob, JobOutcome, JobSettings
from discovery.objectives import Objective
from discovery.records import SeedResult, TrainingPoint

_POLL_SECONDS = 1.0
T = TypeVar("T")


@dataclass(frozen=True)
class Trainings:
    """An objective to train at `points` with `settings`, known to the caller as `key`; the job of
    each of its seeds works in `folder/seed<k>`."""

    key: Any
    settings: JobSettings
    objective: Objective
    points: list[TrainingPoint]
    folder: Path

    @property
    def seeds(self) -> list[int]:
        """The seeds of the points, in their order: one job each."""
        return list(dict.fromkeys(point.seed for point in self.points))

    def job(self, seed: int) -> CandidateJob:
        """The job that trains the points of `seed`, in their order."""
        points = [point for point in self.points if point.seed == seed]
        return self.settings.job(self.objective, points, self.folder / f"seed{seed}")

    def joined(self, outcomes: dict[int, JobOutcome]) -> JobOutcome:
        """The outcome of all the seeds' jobs (`outcomes` by seed) as if one job had trained every
        point in order: all the trainings, or the failure of the first seed that failed."""
        ended = [outcomes[seed] for seed in self.seeds]
        failed = next((outcome for outcome in ended if outcome.trainings is None), None)
        if failed is not None:
            return failed
        of_seed: dict[int, list[SeedResult]] = {
            seed: list(outcomes[seed].trainings or []) for seed in self.seeds
        }
        return JobOutcome(trainings=[of_seed[point.seed].pop(0) for point in self.points])


def train_objectives(
    executor: Executor,
    objectives: Iterable[Trainings],
    on_joined: Callable[[Trainings, JobOutcome], None],
    on_job: Callable[[Trainings, CandidateJob, JobOutcome], None] = lambda trainings, job, outcome: None,
    on_progress: Callable[[Trainings, CandidateJob, str, float | None], None] = lambda trainings, job, *_: (
        None
    ),
) -> None:
    """Train each objective at its points through `executor`, one job per objective and seed; call
    `on_joined` with an objective and its outcome once all its jobs ended, `on_job` as each ends and
    `on_progress` with each job's phase while it waits or runs. The objectives may come from an
    iterator that is still making them: it is read as slots free."""
    owner: dict[Path, Trainings] = {}  # each job's objective, by the job's folder
    ended: dict[Path, dict[int, JobOutcome]] = {}  # each objective's outcomes by seed, by its folder

    def jobs() -> Iterator[CandidateJob]:
        for trainings in objectives:
            ended[trainings.folder] = {}
            for seed in trainings.seeds:
                job = trainings.job(seed)
                owner[job.workdir] = trainings
                on_progress(trainings, job, "submitted", None)
                yield job

    def arrived(job: CandidateJob, outcome: JobOutcome) -> None:
        trainings = owner.pop(job.workdir)
        outcomes = ended[trainings.folder]
        outcomes[job.points[0].seed] = outcome
        on_job(trainings, job, outcome)
        if len(outcomes) == len(trainings.seeds):
            on_joined(trainings, trainings.joined(ended.pop(trainings.folder)))

    def progress(job: CandidateJob, phase: str, fraction: float | None) -> None:
        on_progress(owner[job.workdir], job, phase, fraction)

    run_batch(executor, jobs(), arrived, on_progress=progress)


def run_batch(
    executor: Executor,
    jobs: Iterable[CandidateJob],
    on_outcome: Callable[[CandidateJob, JobOutcome], None],
    resubmits: int = 1,
    on_progress: Callable[[CandidateJob, str, float | None], None] = lambda job, phase, fraction: None,
) -> None:
    """Run `jobs`, at most `executor.slots` at once, calling `on_outcome` as each ends and
    `on_progress` with the phase of each that waits or runs, once a poll (in the caller's thread). A
    job the executor loses is submitted again, `resubmits` times, then ends as a failure; a job whose
    service or input is unusable raises, as the loop's would."""
    fresh = iter(jobs)
    waiting: list[tuple[CandidateJob, int]] = []
    running: dict[str, tuple[CandidateJob, int]] = {}
    while True:
        while len(running) < executor.slots and (waiting or _take(fresh, waiting)):
            job, lost = waiting.pop(0)
            job.workdir.mkdir(parents=True, exist_ok=True)
            running[executor.submit(job)] = (job, lost)
        if not running:  # nothing waits and the iterator has no job left
            return
        ended = False
        for job_id, (job, lost) in list(running.items()):
            status = executor.status(job_id, job)
            if status.state in (JobState.QUEUED, JobState.RUNNING):
                on_progress(job, *(status.progress or (status.state.value, None)))
                continue
            del running[job_id]
            ended = True
            if status.state is JobState.LOST:
                if lost < resubmits:
                    waiting.insert(0, (job, lost + 1))
                else:
                    on_outcome(job, JobOutcome(failure=f"its job was lost {lost + 1} times: {status.reason}"))
                continue
            outcome = status.outcome
            assert outcome is not None
            outcome.raise_for_caller()
            on_outcome(job, outcome)
        if not ended:
            executor.wait(_POLL_SECONDS)


def _take(fresh: Iterator[CandidateJob], waiting: list[tuple[CandidateJob, int]]) -> bool:
    """Move the iterator's next job to `waiting`; False once it has none left."""
    job = next(fresh, None)
    if job is not None:
        waiting.append((job, 0))
    return job is not None


def in_background(builds: list[Callable[[], T]]) -> list[Future[T]]:
    """Run `builds` (tasks to prepare while the slots train those that are ready) one after another
    in a daemon thread: an interrupted batch does not wait for a build (a task's cache is renamed
    into place only when complete, so none is left half-built)."""
    futures: list[Future[T]] = [Future() for _ in builds]

    def work() -> None:
        for build, future in zip(builds, futures, strict=True):
            try:
                future.set_result(build())
            except BaseException as error:  # raised again where the jobs are taken, in the caller
                future.set_exception(error)

    threading.Thread(target=work, name="task-builds", daemon=True).start()
    return futures
