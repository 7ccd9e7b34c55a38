"""What a run tells whoever follows it: the observer protocol of the discovery loop.

A module of its own so that the views (`discovery.ui`), the runner and the loop all depend on this
small contract, not on one another.
"""

from typing import Protocol

from discovery.records import CandidateRecord, RunRecord


class LoopObserver(Protocol):
    """What a display needs to follow a run; every method must be cheap."""

    def run_started(self, run: RunRecord, proposer: str) -> None: ...
    def llm_spend(self, prompt_tokens: int, completion_tokens: int) -> None: ...
    def task_progress(self, phase: str, fraction: float | None) -> None: ...
    def generation_started(self, generation: int, total: int) -> None: ...
    def candidate_known(self, candidate: CandidateRecord) -> None: ...
    def candidate_phase(self, candidate: CandidateRecord, phase: str, fraction: float | None) -> None: ...
    def candidate_finished(self, candidate: CandidateRecord, best: CandidateRecord | None) -> None: ...
    def notice(self, message: str) -> None: ...
    def ask(self, question: str) -> bool: ...


class SilentObserver:
    """An observer that shows nothing (used with --json and in tests)."""

    def run_started(self, run: RunRecord, proposer: str) -> None:
        pass

    def llm_spend(self, prompt_tokens: int, completion_tokens: int) -> None:
        pass

    def task_progress(self, phase: str, fraction: float | None) -> None:
        pass

    def generation_started(self, generation: int, total: int) -> None:
        pass

    def candidate_known(self, candidate: CandidateRecord) -> None:
        pass

    def candidate_phase(self, candidate: CandidateRecord, phase: str, fraction: float | None) -> None:
        pass

    def candidate_finished(self, candidate: CandidateRecord, best: CandidateRecord | None) -> None:
        pass

    def notice(self, message: str) -> None:
        pass

    def ask(self, question: str) -> bool:
        """Nobody to ask: the cautious answer (cancel, so no job runs on unwatched)."""
        return True

    def __enter__(self) -> "SilentObserver":
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass
