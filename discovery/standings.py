"""Where a run's candidates stand: their figures, summarised with what the whole run knows.

A candidate's figures depend on more than its own trainings: every interval uses the run's seed
noise, pooled over every candidate measured so far (`discovery.fitness`), and every candidate is
paired with the baseline once the baseline has figures. The standings hold the candidates with
figures and each one's share of the noise (so pooling stays cheap with thousands of candidates),
summarise a candidate's trainings with both, and say who leads by the archive's rule (`run_best`):
the incumbent a racing candidate must beat, and the run's best that the views show.
"""

from discovery.archive import run_best
from discovery.fitness import combined_noise, noise_share, summarise
from discovery.records import CandidateRecord, EvaluationResult, SeedResult


class Standings:
    """The run's candidates with figures, by id, with their noise shares; nothing here writes the
    archive: the loop commits what changed."""

    def __init__(self, baseline: str, confidence: float, best_needs: int) -> None:
        """`baseline` is the shipped objective every candidate is paired with, `confidence` the level
        of every interval, `best_needs` the seeds at its best beta a candidate needs to lead."""
        self.baseline_id = f"seed-{baseline}"
        self.confidence = confidence
        self.best_needs = best_needs
        self._scored: dict[str, CandidateRecord] = {}
        self._noise_shares: dict[str, tuple[float, int]] = {}

    def keep(self, candidate: CandidateRecord) -> None:
        """Hold a candidate among the scored, with its share of the run's noise."""
        self._scored[candidate.id] = candidate
        self._noise_shares[candidate.id] = noise_share(candidate.figures.seeds if candidate.figures else [])

    def drop(self, candidate_id: str) -> None:
        """A candidate that failed: neither its figures nor its noise count any more."""
        self._scored.pop(candidate_id, None)
        self._noise_shares.pop(candidate_id, None)

    def trainings(self) -> int:
        """The trainings the candidates with figures hold: what the run has spent on them."""
        return sum(len(candidate.figures.seeds) for candidate in self._scored.values() if candidate.figures)

    def noise(self) -> float | None:
        """The run's seed-to-seed noise, pooled over everything measured so far."""
        return combined_noise(self._noise_shares.values())

    def with_trainings(
        self, candidate: CandidateRecord, trainings: list[SeedResult]
    ) -> EvaluationResult | None:
        """The candidate's figures with `trainings` added (a repeated (seed, beta) replaces the old);
        None while it has no training at all."""
        known = {(t.seed, t.beta): t for t in (candidate.figures.seeds if candidate.figures else [])}
        known.update({(t.seed, t.beta): t for t in trainings})
        return self._summary(candidate, list(known.values()), self.noise()) if known else None

    def resummarised(self) -> list[CandidateRecord]:
        """Every candidate's figures again, with the run's present noise and baseline: the candidates
        whose figures changed (updated in place, for the caller to commit)."""
        noise = self.noise()
        changed = []
        for candidate in self._scored.values():
            assert candidate.figures is not None
            updated = self._summary(candidate, candidate.figures.seeds, noise)
            if updated != candidate.figures:
                candidate.figures = updated
                changed.append(candidate)
        return changed

    def incumbent(self, excluding: str) -> EvaluationResult | None:
        """The figures of the run's best, the candidate `excluding` aside: what it races against."""
        best = self.best(excluding)
        return None if best is None else best.figures

    def best(self, excluding: str | None = None) -> CandidateRecord | None:
        """The run's best by the archive's rule (`run_best`), `excluding` aside."""
        return run_best((c for c in self._scored.values() if c.id != excluding), self.best_needs)

    def _summary(
        self, candidate: CandidateRecord, trainings: list[SeedResult], noise: float | None
    ) -> EvaluationResult:
        baseline = self._scored.get(self.baseline_id)
        return summarise(
            candidate.name,
            trainings,
            noise_sd=noise,
            confidence=self.confidence,
            baseline=baseline.figures if baseline and candidate.id != self.baseline_id else None,
        )
