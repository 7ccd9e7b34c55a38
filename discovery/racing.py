"""Which trainings an objective gets: racing across seeds, so that noise does not crown a winner and
the budget goes where it can change the ranking.

Every objective first gets a cheap estimate: `first_seeds` seeds at every beta of the grid. After
each round, an objective that could still beat the incumbent (the upper end of its interval reaches
the incumbent's lower end) gets more seeds at its best beta, doubling its count (at least
`best_needs`) up to the cap of `seeds`; one that cannot is left where it is. Only an objective with
`best_needs` seeds can be the incumbent or the run's best, so a single lucky seed wins nothing. The
baseline every figure is paired with gets every seed at every beta at once.

Seeds are common random numbers: seed k means the same data order, initial state and sampling for
every objective, so that the comparison of two objectives on seed k is a paired one.
"""

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
        """More seeds at the best beta if `result` could still beat `incumbent`; none otherwise."""
        trained = {t.seed for t in result.seeds if t.beta == result.best_beta}
        missing = [seed for seed in self.seeds if seed not in trained]
        if not missing or not self.could_beat(result, incumbent):
            return []
        target = min(len(self.seeds), max(self.best_needs, 2 * len(trained)))
        return [TrainingPoint(seed=seed, beta=result.best_beta) for seed in missing[: target - len(trained)]]

    def could_beat(self, result: EvaluationResult, incumbent: EvaluationResult | None) -> bool:
        """Whether the intervals leave `result` a chance against `incumbent` (always, without one)."""
        if incumbent is None or result.fitness_high is None or incumbent.fitness_low is None:
            return True
        return result.fitness_high >= incumbent.fitness_low

    def can_be_best(self, result: EvaluationResult) -> bool:
        """Whether `result` has the seeds at its best beta that the run's best needs."""
        return result.n >= self.best_needs
