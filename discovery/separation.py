"""Does a task separate known objectives? The figures `discover separation` shows per variant.

A suite's variant earns its place only if the choice of loss matters there: once each loss has its
beta tuned, at least one known objective must beat the baseline (DPO) by more than seed noise. Each
objective (the baseline too) is taken at its **best beta: the beta of the grid with the highest
mean fitness over the seeds**, ties to the smaller beta. The highest mean, not the interval's lower
end the search ranks by (`discovery.fitness`): every beta here trains on the same seeds, so no beta's
mean rests on fewer seeds than another's, and a user tuning beta on a task picks the best mean.

The objective is then paired with the baseline at the baseline's own best beta, seed by seed over
the seeds both trained; the exact sign-flip test (`discovery.fitness.sign_flip_p_value`) says how
likely a mean difference that large would be if the two were the same. The variant **separates**
when some objective's difference is positive with p < `ALPHA`. The p-values are not corrected for the
number of objectives: the question is whether the variant can tell any losses apart at all. With n
seeds no p-value is below 2/2**n (`lowest_p_value`): fewer than 6 seeds can never separate.
"""

import math
import statistics
from dataclasses import dataclass

from discovery.fitness import sign_flip_p_value, summarise
from discovery.records import SeedResult

ALPHA = 0.05
SEEDS_TO_SEPARATE = 6  # the fewest seeds whose lowest p-value is below ALPHA


@dataclass(frozen=True)
class ObjectiveFigures:
    """One objective on a variant: at its best beta, and against the baseline at the baseline's."""

    objective: str
    beta: float | None
    fitness: float  # mean over the seeds at `beta`
    low: float | None  # its 90% interval (None with a single seed)
    high: float | None
    n: int  # seeds at `beta`
    difference: float | None  # mean over the common seeds of (objective - baseline); None: no pair
    difference_se: float | None  # its standard error (None below two pairs)
    p_value: float | None  # exact sign-flip test of "no difference"
    pairs: int  # seeds both trained
    is_baseline: bool = False

    @property
    def beats_baseline(self) -> bool:
        """Better than the baseline by more than seed noise: a positive difference with p < ALPHA."""
        return (
            not self.is_baseline
            and self.difference is not None
            and self.difference > 0
            and self.p_value is not None
            and self.p_value < ALPHA
        )


@dataclass(frozen=True)
class VariantSeparation:
    """Every objective's figures on one variant, best difference with the baseline first."""

    variant: str
    role: str  # meta-train, meta-test, or task (the evaluator's task alone)
    baseline: str
    objectives: list[ObjectiveFigures]  # the baseline among them; empty when it has no trainings

    @property
    def separates(self) -> bool:
        return any(figures.beats_baseline for figures in self.objectives)

    def verdict(self) -> str:
        """`separates: rdpo +0.031 (p 0.031)` (the largest difference among those that beat the
        baseline), or `DOES NOT SEPARATE: ...` with why."""
        beating = [figures for figures in self.objectives if figures.beats_baseline]
        if beating:
            best = beating[0]
            return f"separates: {best.objective} {best.difference:+.3f} (p {best.p_value:.2g})"
        if not self.objectives:
            return f"DOES NOT SEPARATE: the baseline {self.baseline} has no trainings to compare with"
        return f"DOES NOT SEPARATE: no objective beats {self.baseline} at p < {ALPHA:g}"


def best_beta(trainings: list[SeedResult]) -> float | None:
    """The beta with the highest mean fitness over its seeds, ties to the smaller beta."""
    means: dict[float | None, list[float]] = {}
    for training in trainings:
        means.setdefault(training.beta, []).append(training.fitness)
    ordered = sorted(means, key=lambda beta: -math.inf if beta is None else beta)
    return max(ordered, key=lambda beta: statistics.fmean(means[beta]))


def lowest_p_value(seeds: int) -> float:
    """The smallest two-sided sign-flip p-value `seeds` pairs can give: 2/2**seeds (1 without pairs)."""
    return min(1.0, 2 / 2**seeds)


def separation(
    variant: str, role: str, trainings: dict[str, list[SeedResult]], baseline: str
) -> VariantSeparation:
    """The figures of every objective's `trainings` (by name) on the variant, each paired with those
    of `baseline` (none when the baseline has no trainings: its training failed)."""
    if baseline not in trainings:
        return VariantSeparation(variant, role, baseline, [])
    theirs = _at_best_beta(trainings[baseline])
    found = [_figures(name, runs, theirs, is_baseline=name == baseline) for name, runs in trainings.items()]
    found.sort(key=lambda figures: -(figures.difference if figures.difference is not None else -math.inf))
    return VariantSeparation(variant, role, baseline, found)


def _at_best_beta(trainings: list[SeedResult]) -> list[SeedResult]:
    beta = best_beta(trainings)
    return [training for training in trainings if training.beta == beta]


def _figures(
    name: str, trainings: list[SeedResult], baseline: list[SeedResult], is_baseline: bool
) -> ObjectiveFigures:
    """The objective at its best beta, paired with the baseline's trainings at the baseline's."""
    ours = _at_best_beta(trainings)
    summary = summarise(name, ours)  # one beta: its mean and interval
    theirs = {training.seed: training.fitness for training in baseline}
    differences = [t.fitness - theirs[t.seed] for t in sorted(ours, key=lambda t: t.seed) if t.seed in theirs]
    return ObjectiveFigures(
        objective=name,
        beta=summary.best_beta,
        fitness=summary.fitness,
        low=summary.fitness_low,
        high=summary.fitness_high,
        n=summary.n,
        difference=statistics.fmean(differences) if differences else None,
        difference_se=(
            statistics.stdev(differences) / math.sqrt(len(differences)) if len(differences) > 1 else None
        ),
        p_value=sign_flip_p_value(differences) if differences else None,
        pairs=len(differences),
        is_baseline=is_baseline,
    )
