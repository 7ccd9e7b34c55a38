"""What every view of a running `discover run` says about it, kept in one place: seeds scored, the
generation, the best candidate so far, the LLM spend and when the run should end.

The live display, the plain progress lines and the experiment trackers each keep a `RunTally` fed by
the loop's events, so that they never disagree about the best candidate or the ETA. The best is the
loop's, by the archive's rule (`discovery.archive.run_best`): what `discover archive` will call best.
"""

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from discovery.archive import run_best
from discovery.records import CandidateRecord, CandidateStatus, RunRecord

_UNDECIDED = (CandidateStatus.PROPOSED, CandidateStatus.VALIDATED, CandidateStatus.RUNNING)


@dataclass
class RunTally:
    """The run as its events describe it; `clock` is injectable so the ETA can be tested."""

    clock: Callable[[], float] = time.monotonic
    run: RunRecord | None = None
    seeds_total: int = 0
    seeds_done: int = 0
    generation: int = 0  # the latest generation asked for; 0 while the seeds are scored
    generations: int = 0  # the run's target
    tokens: tuple[int, int] = (0, 0)  # (prompt, completion) LLM tokens spent by the whole run
    best: CandidateRecord | None = None
    best_needs: int = 1  # the seeds a candidate needs to be the run's best
    counts: Counter[CandidateStatus] = field(default_factory=Counter)
    _first: tuple[int, float] | None = None  # the first generation this process started, and when
    _ends_at: float | None = None  # `clock` time the last generation should be done by

    def started(self, run: RunRecord) -> None:
        self.run = run
        self.generations = run.config.generations
        self.best_needs = run.config.best_needs
        self.seeds_total = len(run.config.seed_objective_names)

    def generation_started(self, generation: int, total: int) -> None:
        """A new generation: the time the generations this process ran took gives the ETA."""
        now = self.clock()
        self.generation, self.generations = generation, total
        if self._first is None:
            self._first = (generation, now)
            return
        first, since = self._first
        per_generation = (now - since) / max(1, generation - first)
        self._ends_at = now + per_generation * (total - generation + 1)

    def known(self, candidate: CandidateRecord) -> None:
        """Take in a candidate the archive held before this process started (in the archive's
        order): counted if it had its verdict, and the best so far by the archive's rule."""
        self.best = run_best([c for c in (self.best, candidate) if c is not None], self.best_needs)
        if candidate.status not in _UNDECIDED:
            self._count(candidate)

    def finished(self, candidate: CandidateRecord, best: CandidateRecord | None) -> None:
        """Count a candidate that reached its verdict; `best` is the run's best now, as the loop says."""
        self._count(candidate)
        self.best = best

    def _count(self, candidate: CandidateRecord) -> None:
        self.counts[candidate.status] += 1
        self.seeds_done += candidate.is_seed

    @property
    def stage(self) -> str:
        """`seeds 3/11` while the shipped objectives are scored, then `generation 4/10`."""
        if self.generation == 0:
            return f"seeds {self.seeds_done}/{self.seeds_total}"
        return f"generation {self.generation}/{self.generations}"

    def eta(self) -> float | None:
        """Seconds until the last generation should be done, once two generations have started here."""
        if self._ends_at is None:
            return None
        return max(0.0, self._ends_at - self.clock())


def duration(seconds: float) -> str:
    """`45s`, `12m05s`, `3h02m`: short enough for a progress line."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
