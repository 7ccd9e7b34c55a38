"""Several `LoopObserver`s as one, so a run can be shown, logged to a file and tracked at once."""

import contextlib
from pathlib import Path

from discovery.observer import LoopObserver
from discovery.records import CandidateRecord, RunRecord
from discovery.ui.live import LiveRunDisplay
from discovery.ui.log_lines import LogLinesObserver
from discovery.ui.tracking import Tracker


class Observers:
    """Each event goes to every observer, in order; a question goes to the last one, the display in
    front of the user (a log file or a tracker cannot answer).

    Entered, it enters them in order and leaves them in reverse: the display, last in, stops first,
    so what the others print on leaving is not drawn over.
    """

    def __init__(self, *observers: LoopObserver) -> None:
        self.observers = observers
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "Observers":
        for observer in self.observers:
            self._stack.enter_context(observer)  # type: ignore[arg-type]
        return self

    def __exit__(self, *exc_info) -> bool:
        return self._stack.__exit__(*exc_info)

    def run_started(self, run: RunRecord, proposer: str) -> None:
        for observer in self.observers:
            observer.run_started(run, proposer)

    def llm_spend(self, prompt_tokens: int, completion_tokens: int) -> None:
        for observer in self.observers:
            observer.llm_spend(prompt_tokens, completion_tokens)

    def task_progress(self, phase: str, fraction: float | None) -> None:
        for observer in self.observers:
            observer.task_progress(phase, fraction)

    def generation_started(self, generation: int, total: int) -> None:
        for observer in self.observers:
            observer.generation_started(generation, total)

    def candidate_known(self, candidate: CandidateRecord) -> None:
        for observer in self.observers:
            observer.candidate_known(candidate)

    def candidate_phase(self, candidate: CandidateRecord, phase: str, fraction: float | None) -> None:
        for observer in self.observers:
            observer.candidate_phase(candidate, phase, fraction)

    def candidate_finished(self, candidate: CandidateRecord, best: CandidateRecord | None) -> None:
        for observer in self.observers:
            observer.candidate_finished(candidate, best)

    def notice(self, message: str) -> None:
        for observer in self.observers:
            observer.notice(message)

    def ask(self, question: str) -> bool:
        return self.observers[-1].ask(question)


def run_observers(live: bool, log_file: bool, runs_dir: Path) -> Observers:
    """What follows `discover run`: the trackers its configuration names, the plain lines for a log
    file beside the live display, and the display in front of the user: live on a terminal, plain
    lines elsewhere."""
    observers: list[LoopObserver] = [Tracker(runs_dir)]
    if live and log_file:
        observers.append(LogLinesObserver())
    observers.append(LiveRunDisplay() if live else LogLinesObserver())
    return Observers(*observers)
