"""The live display of `discover run`: generation, the candidates in flight with their phases, best
so far, tokens."""

from collections import deque

from rich.console import Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from discovery.records import CandidateRecord, CandidateStatus, RunRecord
from discovery.ui import plain_console

_STATUS_STYLE = {
    CandidateStatus.SCORED: "green",
    CandidateStatus.INVALID: "red",
    CandidateStatus.DUPLICATE: "yellow",
    CandidateStatus.FAILED: "red",
}


class LiveRunDisplay:
    """A `LoopObserver` that redraws a small dashboard on stderr (never on stdout).

    It appears when the run starts, not before: a run refused while it is being built (an unknown
    run to resume, a proposer without an endpoint) leaves only its one-line error on stderr.
    """

    def __init__(self) -> None:
        self.console = plain_console(stderr=True)
        self.header = "starting the run"
        self.tokens = (0, 0)  # (prompt, completion) LLM tokens spent so far
        self.generation = "seeds"
        self.current: dict[str, tuple[CandidateRecord, str, float | None]] = {}  # by candidate id
        self.best: CandidateRecord | None = None
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
        self.header = f"run {run.id} · proposer {proposer} · evaluator {run.evaluator}"
        self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
        self._live.__enter__()

    def llm_spend(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.tokens = (prompt_tokens, completion_tokens)
        self._refresh()

    def generation_started(self, generation: int, total: int) -> None:
        self.generation = f"generation {generation}/{total}"
        self._refresh()

    def candidate_phase(self, candidate: CandidateRecord, phase: str, fraction: float | None) -> None:
        self.current[candidate.id] = (candidate, phase, fraction)
        self._refresh()

    def candidate_finished(self, candidate: CandidateRecord) -> None:
        self.current.pop(candidate.id, None)
        self.message = ""
        self.finished.append(candidate)
        if candidate.fitness is not None and (
            self.best is None or candidate.fitness > (self.best.fitness or 0)
        ):
            self.best = candidate
        self._refresh()

    def notice(self, message: str) -> None:
        self.message = message
        self._refresh()

    def ask(self, question: str) -> bool:
        """A yes/no question with the display stopped; no answer (not a terminal, a second Ctrl-C) is yes."""
        from rich.prompt import Confirm

        if not self.console.is_terminal:
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
        prompt_tokens, completion_tokens = self.tokens
        lines = [
            Text(self.header, style="bold"),
            Text(f"{self.generation} · LLM tokens {prompt_tokens:,} in / {completion_tokens:,} out"),
        ]
        if self.best is not None:
            metrics = self.best.metrics
            lines.append(
                Text(
                    f"best so far: {self.best.name} ({self.best.id}) fitness {metrics.fitness:.3f}"
                    f" ± {metrics.fitness_se:.3f}",
                    style="green",
                )
            )
        if self.current:
            rows = Table.grid(padding=(0, 1))
            for candidate, phase, fraction in self.current.values():
                rows.add_row(
                    f"{candidate.id} {candidate.name}",
                    phase,
                    ProgressBar(total=1.0, completed=fraction or 0.0, width=30, pulse=fraction is None),
                )
            lines.append(Text(f"in flight: {len(self.current)}"))
            lines.append(rows)
        if self.message:
            lines.append(Text(self.message, style="dim"))
        if self.finished:
            lines.append(self._recent_table())
        return Group(*lines)

    def _recent_table(self) -> Table:
        table = Table(title="latest candidates", title_justify="left", expand=False)
        for column in ("id", "name", "status", "fitness", "KL", "reason"):
            table.add_column(column, overflow="fold")
        for candidate in self.finished:
            metrics = candidate.metrics
            table.add_row(
                candidate.id,
                candidate.name,
                Text(candidate.status.value, style=_STATUS_STYLE.get(candidate.status, "")),
                f"{metrics.fitness:.3f}" if metrics else "",
                f"{metrics.kl:.2f}" if metrics and metrics.kl is not None else "",
                (candidate.reason or "")[:60],
            )
        return table
