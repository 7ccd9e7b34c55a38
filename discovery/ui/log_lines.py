"""Progress as plain, timestamped lines: what a batch log (`| tee`, `nohup`, Slurm) and `--log-file` get.

A redrawn display writes nothing useful to a file: its frames reach a pipe only at the end. Lines
written through `logging` as things happen do. Work reports fractions many times a second, so a
subject (the task, a candidate) gets a line when its phase changes and at most one more every
`PROGRESS_EVERY_S` seconds while it stays in that phase.
"""

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from discovery.errors import UserError
from discovery.progress import progress_log
from discovery.records import CandidateRecord, EvaluationResult, RunRecord
from discovery.ui.tally import RunTally, duration
from discovery.ui.views import fitness_text, result_fitness
from discovery.untrusted import visible
from discovery.user_files import existing_mode

PROGRESS_EVERY_S = 30.0


class _VisibleFormatter(logging.Formatter):
    """Timestamped lines with every control character made `visible`: names, reasons and notices in
    them come from outside, and a log is read on a terminal (`tail -f`, `less -R`) as often as not."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record))


_FORMAT = _VisibleFormatter("%(asctime)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S")


class _CurrentStderr(logging.StreamHandler):
    """Writes to `sys.stderr` as it is when a line is logged: the live display swaps it for a proxy
    that prints above the display, and tests swap it for a buffer."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


@contextlib.contextmanager
def progress_logging(lines_on_stderr: bool, log_file: Path | None = None) -> Iterator[None]:
    """Route `progress_log` for one command: every line to stderr (`lines_on_stderr`: no live display
    is drawn there) or only warnings (they print above the live display), and every line to
    `log_file` (appended to) when given."""
    handlers: list[logging.Handler] = [_CurrentStderr()]
    handlers[0].setLevel(logging.INFO if lines_on_stderr else logging.WARNING)
    if log_file is not None:
        handlers.append(_file_handler(log_file))
    for handler in handlers:
        handler.setFormatter(_FORMAT)
        progress_log.addHandler(handler)
    saved = progress_log.level, progress_log.propagate
    progress_log.setLevel(logging.INFO)
    progress_log.propagate = False  # the libraries' root configuration is theirs, these lines are ours
    try:
        yield
    finally:
        for handler in handlers:
            progress_log.removeHandler(handler)
            handler.close()
        progress_log.level, progress_log.propagate = saved


def _file_handler(path: Path) -> logging.FileHandler:
    """A handler appending to `path`; anything but a regular file (or nothing) there is refused."""
    mode = existing_mode(path, "log file")
    if mode is not None and not Path(path).is_file():
        raise UserError(f"cannot write log file {path}: it is not a regular file")
    try:
        return logging.FileHandler(path, encoding="utf-8")
    except OSError as error:
        raise UserError(f"cannot write log file {path}: {error.strerror or error}") from error


class ProgressLines:
    """Lines for work that reports `(phase, fraction)` often: one per phase change, and at most one
    per `every` seconds within a phase, for each subject."""

    def __init__(self, every: float = PROGRESS_EVERY_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self._last: dict[str, tuple[str, float]] = {}  # subject -> (phase, when its last line was)

    def report(self, subject: str, phase: str, fraction: float | None, suffix: str = "") -> None:
        now = self.clock()
        last = self._last.get(subject)
        if last is not None and last[0] == phase and now - last[1] < self.every:
            return
        self._last[subject] = (phase, now)
        shown = phase if fraction is None else f"{phase} {fraction:.0%}"
        progress_log.info(f"{subject}: {shown}{suffix}")

    def forget(self, subject: str) -> None:
        """The subject is done: a later report about it starts afresh."""
        self._last.pop(subject, None)


def figures_text(result: EvaluationResult) -> str:
    """`fitness 0.812 ± 0.004 · KL 3.30`, the figures a progress line shows."""
    text = f"fitness {result_fitness(result)}"
    if result.kl is not None:
        text += f" · KL {result.kl:.2f}"
    return text


class LogLinesObserver:
    """A `LoopObserver` that logs plain progress lines (generation, candidate, phase, fitness, best so
    far, ETA) through `progress_log`; chosen when stderr is not a terminal, and for `--log-file`."""

    def __init__(self, lines: ProgressLines | None = None, tally: RunTally | None = None) -> None:
        self.lines = lines or ProgressLines()
        self.tally = tally or RunTally()
        self._notice = ""

    def __enter__(self) -> "LogLinesObserver":
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def run_started(self, run: RunRecord, proposer: str) -> None:
        self.tally.started(run)
        progress_log.info(
            f"run {run.id} · proposer {proposer} · evaluator {run.evaluator} · "
            f"{run.config.generations} generations of {run.config.population}"
        )

    def llm_spend(self, prompt_tokens: int, completion_tokens: int) -> None:
        if (prompt_tokens, completion_tokens) != self.tally.tokens:
            progress_log.info(f"LLM tokens: {prompt_tokens:,} in / {completion_tokens:,} out")
        self.tally.tokens = (prompt_tokens, completion_tokens)

    def task_progress(self, phase: str, fraction: float | None) -> None:
        self.lines.report("preparing task", phase, fraction)

    def generation_started(self, generation: int, total: int) -> None:
        self.tally.generation_started(generation, total)
        progress_log.info(f"{self.tally.stage}{self._eta()}")

    def candidate_known(self, candidate: CandidateRecord) -> None:
        self.tally.known(candidate)

    def candidate_phase(self, candidate: CandidateRecord, phase: str, fraction: float | None) -> None:
        self.lines.report(f"{candidate.id} {candidate.name}", phase, fraction)

    def candidate_finished(self, candidate: CandidateRecord, best: CandidateRecord | None) -> None:
        self.lines.forget(f"{candidate.id} {candidate.name}")
        self.tally.finished(candidate, best)
        verdict = candidate.status.value
        if candidate.figures is not None:
            verdict += f" · {figures_text(candidate.figures)}"
        elif candidate.reason:
            verdict += f": {candidate.reason}"
        if best is None:
            standing = ""
        elif best.id == candidate.id:
            standing = " · the best so far"
        else:
            standing = f" · best so far {best.name} ({best.id}) {fitness_text(best)}"
        subject = f"{self.tally.stage} · {candidate.id} {candidate.name}"
        progress_log.info(f"{subject}: {verdict}{standing}{self._eta()}")

    def notice(self, message: str) -> None:
        if message != self._notice:  # the same notice again says nothing new
            progress_log.info(message)
        self._notice = message

    def ask(self, question: str) -> bool:
        """Nobody can answer in a log: yes, as `--on-interrupt` would say for a run without a terminal."""
        progress_log.info(f"{question} no terminal to answer: yes (--on-interrupt detach keeps them running)")
        return True

    def _eta(self) -> str:
        eta = self.tally.eta()
        return "" if eta is None else f" · ETA {duration(eta)}"
