"""The live display of `discover run` on a terminal: generation or seeds scored, ETA, the task's
preparation and the candidates in flight with their phases, best so far, tokens."""

import sys
from collections import deque

from rich.console import Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from discovery.records import CandidateRecord, RunRecord
from discovery.ui import plain_console
from discovery.ui.fitted import Column, FittedTable
from discovery.ui.tally import RunTally, duration
from discovery.ui.views import fitness_text, status_text
from discovery.untrusted import visible


class LiveRunDisplay:
    """A `LoopObserver` that redraws a small dashboard on stderr (never on stdout).

    Run ids, names, reasons and notices come from outside: they are drawn `visible` (the table's
    cells are `shown` by it).

    It appears when the run starts, not before: a run refused while it is being built (an unknown
    run to resume, a proposer without an endpoint) leaves only its one-line error on stderr.
    """

    def __init__(self) -> None:
        self.console = plain_console(stderr=True)
        self.header = "starting the run"
        self.tally = RunTally()
        self.preparing: tuple[str, float | None] | None = None  # the task's phase while it is built
        self.current: dict[str, tuple[CandidateRecord, str, float | None]] = {}  # by candidate id
        self.finished: deque[CandidateRecord] = deque(maxlen=8)
        self.message = ""
        self._live: Live | None = None

    def __enter__(self) -> "LiveRunDisplay":
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.update(self._render(), refresh=True)
            self._live.__exit__(*exc)

    def run_started(self, run: RunRecord, proposer: str) -> None:
        self.tally.started(run)
        self.header = f"run {run.id} · proposer {proposer} · evaluator {run.evaluator}"
        self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
        self._live.__enter__()

    def llm_spend(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.tally.tokens = (prompt_tokens, completion_tokens)
        self._refresh()

    def task_progress(self, phase: str, fraction: float | None) -> None:
        self.preparing = (phase, fraction)
        self._refresh()

    def generation_started(self, generation: int, total: int) -> None:
        self.tally.generation_started(generation, total)
        self._refresh()

    def candidate_known(self, candidate: CandidateRecord) -> None:
        self.tally.known(candidate)

    def candidate_phase(self, candidate: CandidateRecord, phase: str, fraction: float | None) -> None:
        self.preparing = None  # candidates move once the task is ready
        self.current[candidate.id] = (candidate, phase, fraction)
        self._refresh()

    def candidate_finished(self, candidate: CandidateRecord, best: CandidateRecord | None) -> None:
        self.current.pop(candidate.id, None)
        self.message = ""
        self.finished.append(candidate)
        self.tally.finished(candidate, best)
        self._refresh()

    def notice(self, message: str) -> None:
        self.message = message
        self._refresh()

    def ask(self, question: str) -> bool:
        """A yes/no question with the display stopped; no answer (no terminal to type in, a second
        Ctrl-C) is yes."""
        from rich.prompt import Confirm

        if not self.console.is_terminal or not sys.stdin.isatty():
            return True
        self._live.stop()
        try:
            return Confirm.ask(question, console=self.console, default=True)
        except (KeyboardInterrupt, EOFError):
            return True
        finally:
            self._live.start()

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._render())

    def _render(self) -> Group:
        prompt_tokens, completion_tokens = self.tally.tokens
        eta = self.tally.eta()
        lines = [
            Text(visible(self.header), style="bold"),
            Text(
                f"{self.tally.stage}{'' if eta is None else f' · ETA {duration(eta)}'}"
                f" · LLM tokens {prompt_tokens:,} in / {completion_tokens:,} out"
            ),
        ]
        if self.preparing is not None:
            phase, fraction = self.preparing
            rows = Table.grid(padding=(0, 1))
            rows.add_row(f"preparing task: {phase}", _bar(fraction))
            lines.append(rows)
        best = self.tally.best
        if best is not None:
            lines.append(
                Text(
                    visible(f"best so far: {best.name} ({best.id}) fitness {fitness_text(best)}"),
                    style="green",
                )
            )
        if self.current:
            rows = Table.grid(padding=(0, 1))
            for candidate, phase, fraction in self.current.values():
                rows.add_row(visible(f"{candidate.id} {candidate.name}"), phase, _bar(fraction))
            lines.append(Text(f"in flight: {len(self.current)}"))
            lines.append(rows)
        if self.message:
            lines.append(Text(visible(self.message), style="dim"))
        if self.finished:
            lines.append(self._recent_table())
        return Group(*lines)

    def _recent_table(self) -> FittedTable:
        columns = [
            Column("id", whole=True),
            Column("name", whole=True),
            Column("status"),
            Column("fitness"),
            Column("KL", drop=1),
            Column("reason"),
        ]
        table = FittedTable(columns, title="latest candidates", title_justify="left", expand=False)
        for candidate in self.finished:
            metrics = candidate.figures
            table.add_row(
                candidate.id,
                candidate.name,
                status_text(candidate.status),
                f"{metrics.fitness:.3f}" if metrics else "",
                f"{metrics.kl:.2f}" if metrics and metrics.kl is not None else "",
                (candidate.reason or "")[:60],
            )
        return table


def _bar(fraction: float | None) -> ProgressBar:
    """A bar of a phase's progress; one that pulses when the work does not say how far it got."""
    return ProgressBar(total=1.0, completed=fraction or 0.0, width=30, pulse=fraction is None)
