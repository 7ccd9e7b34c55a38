"""How `discover evaluate` shows its progress: a bar on a terminal, plain lines elsewhere (a pipe, a
batch log), both told the same things: the task's preparation, the phase of each job in flight (an
objective's trainings of one seed; several run at once, one per slot), each objective's end."""

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from discovery.progress import progress_log
from discovery.records import EvaluationResult
from discovery.ui.log_lines import ProgressLines, figures_text
from discovery.untrusted import visible


class EvaluationBar:
    """Transient bars on the terminal: the task's preparation, then one per job in flight, naming
    its objective and seed and showing its phase."""

    def __init__(self, console: Console, trainings: int) -> None:
        """`trainings`: a job's, the evaluator's betas."""
        columns = (
            TextColumn("{task.description}", markup=False),  # objective names are the user's
            BarColumn(),
            TextColumn("{task.fields[phase]}"),
            TimeElapsedColumn(),
        )
        self.bar = Progress(*columns, console=console, transient=True)
        self.trainings = trainings
        self.preparation: TaskID | None = None
        self.jobs: dict[tuple[int, str], TaskID] = {}  # by objective and seed label

    def __enter__(self) -> "EvaluationBar":
        self.bar.__enter__()
        self.preparation = self.bar.add_task("preparing task", total=1.0, phase="")
        return self

    def __exit__(self, *exc_info) -> None:
        self.bar.__exit__(*exc_info)

    def preparing(self, phase: str, fraction: float | None) -> None:
        if self.preparation is not None:
            self.bar.update(self.preparation, completed=fraction or 0.0, phase=phase)

    def job(self, index: int, name: str, label: str, phase: str, fraction: float | None) -> None:
        """The phase of the job `label` (`seed 0`) of the objective `index` (0-based)."""
        if self.preparation is not None:  # the task is ready once a job runs
            self.bar.remove_task(self.preparation)
            self.preparation = None
        row = self.jobs.get((index, label))
        if row is None:
            described = f"{name} {label} ({_trainings(self.trainings)})"
            row = self.bar.add_task(visible(described), total=1.0, phase="")  # an archived candidate's name
            self.jobs[(index, label)] = row
        self.bar.update(row, completed=fraction or 0.0, phase=phase)

    def job_ended(self, index: int, name: str, label: str) -> None:
        if (row := self.jobs.pop((index, label), None)) is not None:
            self.bar.remove_task(row)

    def finished(self, name: str, result: EvaluationResult | None, failure: str | None) -> None:
        """Nothing to say now: the table after the bar says it."""


class EvaluationLines:
    """A line as each objective starts, throttled lines (`ProgressLines`) of each job's phases through
    `progress_log`, then one line of figures per objective."""

    def __init__(self, count: int, trainings: int) -> None:
        """`count` objectives of `trainings` trainings each (seeds times betas)."""
        self.count = count
        self.trainings = trainings
        self.lines = ProgressLines()
        self.started: set[int] = set()

    def __enter__(self) -> "EvaluationLines":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def preparing(self, phase: str, fraction: float | None) -> None:
        self.lines.report("preparing task", phase, fraction)

    def job(self, index: int, name: str, label: str, phase: str, fraction: float | None) -> None:
        """The phase of the job `label` (`seed 0`) of the objective `index` (0-based)."""
        if index not in self.started:
            self.started.add(index)
            progress_log.info(f"objective {index + 1}/{self.count}: {name}, {_trainings(self.trainings)}")
        self.lines.report(f"{name} {label}", phase, fraction)

    def job_ended(self, index: int, name: str, label: str) -> None:
        self.lines.forget(f"{name} {label}")

    def finished(self, name: str, result: EvaluationResult | None, failure: str | None) -> None:
        progress_log.info(
            f"{name}: {figures_text(result)}" if result is not None else f"{name} failed: {failure}"
        )


def _trainings(count: int) -> str:
    """`1 training`, `6 trainings`."""
    return f"{count} training{'s' * (count > 1)}"
