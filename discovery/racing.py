"""Which trainings an objective gets: racing across seeds, so that noise does not crown a winner and
the budget goes where it can change the ranking.

Every objective first gets a cheap estimate: `first_seeds` seeds at every beta of the grid. After
each round, an objective that could still beat the incumbent gets more seeds at its best beta,
doubling its count (at least `best_needs`) up to the cap of `seeds`; one that cannot is left where
it is. Only an objective with `best_needs` seeds can be the incumbent or the run's best, so a
single lucky seed wins nothing. While there is no incumbent yet (the first objectives of a run,
scored while the baseline trains), an objective gets `best_needs` seeds, enough to become the
incumbent: seeds beyond that go only to a rival, where they can change the ranking. The baseline
every figure is paired with gets every seed at every beta at once.

"Could still beat" asks what decides the ranking, the interval's lower end: if the objective's true
figure were the upper end of its interval now, would its lower end, measured on every seed, reach
the incumbent's? Asking only whether the two intervals overlap would give nearly every objective of
a noisy task every seed, as it did on the embedded task (all five seeds for 20 of a run's 21).

Seeds are common random numbers: seed k means the same data order, initial state and sampling for
every objective, so that the comparison of two objectives on seed k is a paired one.
"""

import math
from dataclasses import dataclass

from discovery.records import EvaluationResult, TrainingPoint


@dataclass(frozen=True)
class Racing:
    """The racing rules of a run: the seeds an objective may get (in order) and the beta grid."""

    seeds: list[int]
    betas: list[float | None]
    first_seeds: int = 1
    best_needs: int = 3

    def first_round(self, complete: bool = False) -> list[TrainingPoint]:
        """The first estimate: `first_seeds` seeds (all when `complete`, for the baseline) at every beta."""
        seeds = self.seeds if complete else self.seeds[: self.first_seeds]
        return [TrainingPoint(seed=seed, beta=beta) for beta in self.betas for seed in seeds]

    def next_round(self, result: EvaluationResult, incumbent: EvaluationResult | None) -> list[TrainingPoint]:
        """More seeds at the best beta if `result` could still beat `incumbent` (up to `best_needs`
        while there is none); none otherwise."""
        trained = {t.seed for t in result.seeds if t.beta == result.best_beta}
        missing = [seed for seed in self.seeds if seed not in trained]
        if not missing or not self.could_beat(result, incumbent):
            return []
        cap = len(self.seeds) if incumbent is not None else min(len(self.seeds), self.best_needs)
        target = min(cap, max(self.best_needs, 2 * len(trained)))
        return [
            TrainingPoint(seed=seed, beta=result.best_beta)
            for seed in missing[: max(0, target - len(trained))]
        ]

    def could_beat(self, result: EvaluationResult, incumbent: EvaluationResult | None) -> bool:
        """Whether `result`, were its true figure the upper end of its interval, would reach the
        incumbent's lower end once measured on every seed (always, without an incumbent). The
        interval narrows with the square root of the seeds, so that lower end is the upper end less
        the present half-width scaled by sqrt(n / cap)."""
        if incumbent is None or result.fitness_high is None or incumbent.fitness_low is None:
            return True
        half_width = result.fitness_high - result.fitness
        best_lower_end = result.fitness_high - half_width * math.sqrt(result.n / len(self.seeds))
        return best_lower_end >= incumbent.fitness_low
