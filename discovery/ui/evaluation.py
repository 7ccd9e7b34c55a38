"""How `discover evaluate` shows its progress: a bar on a terminal, plain lines elsewhere (a pipe, a
batch log), both told the same things: the task's preparation, each objective's phases, its end."""

from functools import partial

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from discovery.progress import Progress as ReportProgress
from discovery.progress import progress_log
from discovery.records import EvaluationResult
from discovery.ui.log_lines import ProgressLines, figures_text
from discovery.untrusted import visible


class EvaluationBar:
    """One transient bar on the terminal: it names the objective in training and its phase."""

    def __init__(self, console: Console, trainings: int) -> None:
        columns = (
            TextColumn("{task.description}", markup=False),  # objective names are the user's
            BarColumn(),
            TextColumn("{task.fields[phase]}"),
            TimeElapsedColumn(),
        )
        self.bar = Progress(*columns, console=console, transient=True)
        self.trainings = trainings
        self.current: TaskID | None = None

    def __enter__(self) -> "EvaluationBar":
        self.bar.__enter__()
        self.current = self.bar.add_task("preparing task", total=1.0, phase="")
        return self

    def __exit__(self, *exc_info) -> None:
        self.bar.__exit__(*exc_info)

    def preparing(self, phase: str, fraction: float | None) -> None:
        self._update(phase, fraction)

    def objective(self, index: int, name: str) -> ReportProgress:
        """The progress callback of the objective `index` (0-based) of this evaluation."""
        label = visible(f"{name} ({_trainings(self.trainings)})")  # an archived candidate's name
        self.bar.update(self.current, description=label, completed=0.0)
        return self._update

    def finished(self, name: str, result: EvaluationResult | None, failure: str | None) -> None:
        """Nothing to say now: the table after the bar says it."""

    def _update(self, phase: str, fraction: float | None) -> None:
        self.bar.update(self.current, completed=fraction or 0.0, phase=phase)


class EvaluationLines:
    """Throttled lines (`ProgressLines`) through `progress_log`, then one line of figures per objective."""

    def __init__(self, count: int, trainings: int) -> None:
        self.count = count
        self.trainings = trainings
        self.lines = ProgressLines()

    def __enter__(self) -> "EvaluationLines":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def preparing(self, phase: str, fraction: float | None) -> None:
        self.lines.report("preparing task", phase, fraction)

    def objective(self, index: int, name: str) -> ReportProgress:
        progress_log.info(f"objective {index + 1}/{self.count}: {name}, {_trainings(self.trainings)}")
        return partial(self.lines.report, name)

    def finished(self, name: str, result: EvaluationResult | None, failure: str | None) -> None:
        self.lines.forget(name)
        progress_log.info(
            f"{name}: {figures_text(result)}" if result is not None else f"{name} failed: {failure}"
        )


def _trainings(count: int) -> str:
    """`1 training`, `6 trainings`: an objective's seeds times the evaluator's betas."""
    return f"{count} training{'s' * (count > 1)}"
