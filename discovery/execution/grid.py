"""Objectives trained at every beta of a task's grid on the same seeds, on one task (`discover
evaluate`) or on several variants of one (`discover separation`): the batch both commands run.

Every (task, objective, seed) is one job of a single batch, so that no slot idles while one task's
last jobs finish and the next's could start; the tasks are prepared one after another in the
background, the first first, while the slots train those that are ready. Each objective's trainings
(or its failure) come back per task, in the order the objectives were given, whichever ended first.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

from discovery.errors import UserError
from discovery.execution.batch import Trainings, in_background, train_objectives
from discovery.execution.executor import Executor
from discovery.execution.job import CandidateJob, JobOutcome, JobSettings
from discovery.fitness import summarise
from discovery.objectives import Objective
from discovery.records import EvaluationResult, SeedResult, TrainingPoint
from discovery.resolve import resolve_objective
from evaluators import Evaluator


@dataclass(frozen=True)
class GridKey:
    """Which trainings a job belongs to: an objective (`position` in the batch, from 0) on a task."""

    task: str
    position: int
    shown: str  # how progress names it: the objective, and its task when there are several


@dataclass
class GridOutcome:
    """What one task's trainings gave: each objective's trainings, or why they failed."""

    trainings: dict[str, list[SeedResult]] = field(default_factory=dict)  # by objective, in order
    failures: dict[str, str | None] = field(default_factory=dict)


class GridDisplay(Protocol):
    """What a display of the batch is told (`discovery.ui.evaluation`): the tasks' preparation, each
    job's phase (its `Trainings.key` is a `GridKey`), its end, and each objective's figures."""

    def preparing(self, phase: str, fraction: float | None) -> None: ...

    def job(self, trainings: Trainings, job: CandidateJob, phase: str, fraction: float | None) -> None: ...

    def job_ended(self, trainings: Trainings, job: CandidateJob) -> None: ...

    def finished(
        self, trainings: Trainings, result: EvaluationResult | None, failure: str | None
    ) -> None: ...


def checked_objectives(specs: list[str], runs_dir: Path, notice: Callable[[str], None]) -> list[Objective]:
    """The objectives `specs` name (shipped names, files, archived RUN/CANDIDATE), each validated by
    the sandbox: one its static gate refuses is a `UserError`; a verdict the loop would act on (a
    failed probe, say) is only a `notice` here, since the user asked to measure it."""
    from discovery.sandbox import Validator

    resolved = [resolve_objective(spec, runs_dir) for spec in specs]
    with Validator() as validator:
        for objective in resolved:
            verdict = validator.validate(objective.source)
            if verdict.stage == "static":
                raise UserError(f"objective {objective.name} rejected by the static gate: {verdict.reason}")
            if not verdict.ok:
                notice(
                    f"note: {objective.name} fails the sandbox's {verdict.stage} check ({verdict.reason}); "
                    "training it anyway"
                )
    return resolved


def train_grid(
    executor: Executor,
    tasks: dict[str, Evaluator],
    objectives: list[Objective],
    seeds: list[int],
    folder: Path,
    display: GridDisplay,
) -> dict[str, GridOutcome]:
    """Train every objective at every beta of each task's grid on every seed (one job per task,
    objective and seed, each in a folder of its own under `folder`), preparing the tasks in the
    background in their order; what each gave, by task name."""
    several = len(tasks) > 1
    ended: list[tuple[Trainings, JobOutcome]] = []

    def prepared(name: str, task: Evaluator) -> JobSettings:
        def progress(phase: str, fraction: float | None) -> None:
            display.preparing(f"{name}: {phase}" if several else phase, fraction)

        task.prepare(progress)
        return JobSettings.of(task)

    def batch() -> Iterator[Trainings]:
        builds = in_background([partial(prepared, name, task) for name, task in tasks.items()])
        for number, ((name, task), built) in enumerate(zip(tasks.items(), builds, strict=True)):
            settings = built.result()
            points = [TrainingPoint(seed=seed, beta=beta) for beta in task.betas() for seed in seeds]
            for index, objective in enumerate(objectives):
                position = number * len(objectives) + index
                shown = f"{objective.name} on {name}" if several else objective.name
                key = GridKey(name, position, shown)
                yield Trainings(key, settings, objective, points, folder / str(position))

    def joined(trainings: Trainings, outcome: JobOutcome) -> None:
        ended.append((trainings, outcome))
        result = summarise(trainings.objective.name, outcome.trainings) if outcome.trainings else None
        display.finished(trainings, result, outcome.failure)

    train_objectives(
        executor,
        batch(),
        joined,
        on_job=lambda trainings, job, outcome: display.job_ended(trainings, job),
        on_progress=display.job,
    )
    found = {name: GridOutcome() for name in tasks}
    for trainings, outcome in sorted(ended, key=lambda pair: pair[0].key.position):
        of_task, name = found[trainings.key.task], trainings.objective.name
        if outcome.trainings is None:
            of_task.failures[name] = outcome.failure
        else:
            of_task.trainings[name] = outcome.trainings
    return found
