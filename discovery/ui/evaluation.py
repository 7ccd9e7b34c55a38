"""How `discover evaluate` and `discover separation` show their progress: a bar on a terminal, plain
lines elsewhere (a pipe, a batch log), both told the same things (`discovery.execution.grid`): the
tasks' preparation, the phase of each job in flight (an objective's trainings of one seed on a task;
several run at once, one per slot), each objective's end."""

import threading

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from discovery.execution.batch import Trainings
from discovery.execution.job import CandidateJob
from discovery.progress import progress_log
from discovery.records import EvaluationResult
from discovery.ui.log_lines import ProgressLines, figures_text
from discovery.untrusted import visible


class EvaluationBar:
    """Transient bars on the terminal: the task's preparation, then one per job in flight, naming
    its objective and seed and showing its phase. Tasks after the first are prepared while jobs run,
    in another thread: their phases are not shown (the bar of the preparation is gone by then)."""

    def __init__(self, console: Console) -> None:
        columns = (
            TextColumn("{task.description}", markup=False),  # objective names are the user's
            BarColumn(),
            TextColumn("{task.fields[phase]}"),
            TimeElapsedColumn(),
        )
        self.bar = Progress(*columns, console=console, transient=True)
        self.preparation: TaskID | None = None
        self.lock = threading.Lock()  # the preparation's bar is updated by one thread, removed by another
        self.jobs: dict[tuple[int, int], TaskID] = {}  # by the objective's position and the seed

    def __enter__(self) -> "EvaluationBar":
        self.bar.__enter__()
        self.preparation = self.bar.add_task("preparing task", total=1.0, phase="")
        return self

    def __exit__(self, *exc_info) -> None:
        self.bar.__exit__(*exc_info)

    def preparing(self, phase: str, fraction: float | None) -> None:
        with self.lock:
            if self.preparation is not None:
                self.bar.update(self.preparation, completed=fraction or 0.0, phase=phase)

    def job(self, trainings: Trainings, job: CandidateJob, phase: str, fraction: float | None) -> None:
        """The phase of one seed's job of an objective."""
        with self.lock:
            if self.preparation is not None:  # the first task is ready once a job runs
                self.bar.remove_task(self.preparation)
                self.preparation = None
        row = self.jobs.get(_job_key(trainings, job))
        if row is None:
            described = f"{trainings.key.shown} {_seed(job)} ({_trainings(len(job.points))})"
            row = self.bar.add_task(visible(described), total=1.0, phase="")  # an archived candidate's name
            self.jobs[_job_key(trainings, job)] = row
        self.bar.update(row, completed=fraction or 0.0, phase=phase)

    def job_ended(self, trainings: Trainings, job: CandidateJob) -> None:
        if (row := self.jobs.pop(_job_key(trainings, job), None)) is not None:
            self.bar.remove_task(row)

    def finished(self, trainings: Trainings, result: EvaluationResult | None, failure: str | None) -> None:
        """Nothing to say now: the table after the bar says it."""


class EvaluationLines:
    """A line as each objective starts, throttled lines (`ProgressLines`) of each job's phases through
    `progress_log`, then one line of figures per objective."""

    def __init__(self, count: int) -> None:
        """`count` objectives to train (on every task)."""
        self.count = count
        self.lines = ProgressLines()
        self.started: set[int] = set()

    def __enter__(self) -> "EvaluationLines":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def preparing(self, phase: str, fraction: float | None) -> None:
        self.lines.report("preparing task", phase, fraction)

    def job(self, trainings: Trainings, job: CandidateJob, phase: str, fraction: float | None) -> None:
        """The phase of one seed's job of an objective."""
        key = trainings.key
        if key.position not in self.started:
            self.started.add(key.position)
            counted = _trainings(len(trainings.points))
            progress_log.info(f"objective {key.position + 1}/{self.count}: {key.shown}, {counted}")
        self.lines.report(f"{key.shown} {_seed(job)}", phase, fraction)

    def job_ended(self, trainings: Trainings, job: CandidateJob) -> None:
        self.lines.forget(f"{trainings.key.shown} {_seed(job)}")

    def finished(self, trainings: Trainings, result: EvaluationResult | None, failure: str | None) -> None:
        name = trainings.key.shown
        progress_log.info(
            f"{name}: {figures_text(result)}" if result is not None else f"{name} failed: {failure}"
        )


def _trainings(count: int) -> str:
    """`1 training`, `6 trainings`."""
    return f"{count} training{'s' * (count > 1)}"


def _seed(job: CandidateJob) -> str:
    """`seed 3`: what a job trains of its objective (every beta of one seed)."""
    return f"seed {job.points[0].seed}"


def _job_key(trainings: Trainings, job: CandidateJob) -> tuple[int, int]:
    return trainings.key.position, job.points[0].seed
