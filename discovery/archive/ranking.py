"""Which candidates rank, and which of them is a run's best."""

from collections.abc import Iterable

from discovery.records import CandidateRecord, CandidateStatus

RANKED = (CandidateStatus.SCORED, CandidateStatus.RUNNING)  # with figures: scored, or racing for more seeds


def run_best(candidates: Iterable[CandidateRecord], needs: int) -> CandidateRecord | None:
    """The run's best among `candidates`: the highest `ranking` (the lower end of the fitness interval)
    among the ranked ones with figures from at least `needs` seeds at their best beta (the run's
    `best_needs`), the first of a tie. The one rule for the archive, the loop's racing and every view
    of a running run, so that none of them crowns another candidate."""
    eligible = (
        c for c in candidates if c.status in RANKED and c.figures is not None and c.figures.n >= needs
    )
    return max(eligible, key=lambda c: c.figures.ranking, default=None)  # type: ignore[union-attr]
