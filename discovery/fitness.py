"""From trainings to a figure that can be trusted: per-beta means, intervals, collapse, and the
paired comparison with the baseline.

An objective is trained at every beta of the evaluator's grid with one or more seeds. Its headline
figure is the mean at its best beta: every loss gets its beta tuned, as any user of it would, so a
proposal that only rescales beta gains nothing (and the duplicate check catches it before training).
The best beta is chosen by the rule that ranks objectives, the interval's lower end: by the highest
mean, one lucky seed at a beta measured once would take the headline from a beta measured five
times, and racing would chase it from beta to beta.
Whether it beats DPO is asked at comparable KL: its seeds are paired with the baseline's on the same
seeds, the baseline taken at the beta whose KL is closest to the objective's, and an exact sign-flip
test says how surprising the difference would be if there were none.

Seed noise on small tasks is heavy-tailed (a seed may collapse), and one seed says nothing about its
own spread: the interval of a mean uses the larger of its own standard deviation and the run's
pooled seed noise, so a candidate measured once cannot look certain. The pooled noise is that of
trainings that did not collapse: a collapse widens the interval of the objective it happened to
(its own spread) and is counted in its collapse rate, but does not make every other objective's
figure look as uncertain as the most unstable one. Ranking uses the interval's lower end
(`EvaluationResult.ranking`).

A candidate can skew a figure without escaping anything: a loss with no gradient where it trains
leaves the policy where it was, one with huge gradients or with policy and reference swapped wrecks
it. Each scores low, correctly, but a low number alone reads as a weak idea; `degenerate_case` names
what the trusted figures show (`EvaluationResult.degenerate`), and every table, `show`, the report
and the proposer's context say it beside the fitness.
"""

import itertools
import math
import statistics
from collections.abc import Iterable
from statistics import NormalDist

from discovery.records import BetaFigures, EvaluationResult, PairedComparison, SeedResult

DEFAULT_CONFIDENCE = 0.9
# An estimate from the samples of a policy equal to the reference is exactly 0; below this (nats per
# completion) the policy samples as the reference does: training did not move it.
UNCHANGED_KL = 1e-3
_EXACT_SIGN_FLIP_MAX = 16  # up to 2**16 sign patterns are enumerated; beyond, a normal approximation


def summarise(
    objective: str,
    trainings: list[SeedResult],
    noise_sd: float | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    baseline: EvaluationResult | None = None,
) -> EvaluationResult:
    """The figures of `objective` from its trainings; `noise_sd` is the run's pooled seed noise (the
    floor of every standard deviation), `baseline` the result the objective is paired with."""
    if not trainings:
        raise ValueError("at least one training result is needed")
    if noise_sd is None:  # until the run's noise is known, the objective's own spread stands in
        noise_sd = combined_noise([noise_share(trainings)])
    by_beta = [_beta_figures(beta, group, noise_sd) for beta, group in _group_by_beta(trainings)]
    best = max(by_beta, key=lambda figures: (_lower_end(figures, confidence), figures.n))
    low, high = _interval(best, confidence)
    result = EvaluationResult(
        objective=objective,
        fitness=best.fitness,
        fitness_se=best.fitness_se or 0.0,
        fitness_low=low,
        fitness_high=high,
        confidence=confidence,
        n=best.n,
        best_beta=best.beta,
        reward=best.reward,
        kl=best.kl,
        accuracy=best.accuracy,
        collapse_rate=sum(t.collapsed for t in trainings) / len(trainings),
        seconds=sum(t.seconds for t in trainings),
        betas=by_beta,
        seeds=trainings,
        degenerate=degenerate_case(best, trainings),
    )
    if baseline is not None:
        result.paired = paired_comparison(result, baseline)
    return result


def degenerate_case(best: BetaFigures, trainings: list[SeedResult]) -> str | None:
    """What the figures at the best beta say went wrong, in words, or None: the policy did not move
    from the reference (KL ≈ 0), most trainings collapsed, or the fitness is at or below that of an
    unchanged policy (which the evaluator reports with each training, when it knows it)."""
    cases = []
    if best.kl is not None and abs(best.kl) < UNCHANGED_KL:
        cases.append("no change from the reference (KL ≈ 0)")
    if best.collapse_rate >= 0.5:
        cases.append("collapsed: worse than not training")
    unchanged = next((t.unchanged_fitness for t in trainings if t.unchanged_fitness is not None), None)
    if unchanged is not None and best.fitness <= unchanged and not cases:
        cases.append(f"no better than the unchanged policy ({unchanged:.3f})")
    return "; ".join(cases) or None


def noise_share(trainings: list[SeedResult]) -> tuple[float, int]:
    """What some trainings add to the pooled seed noise: the squared deviations of those that did not
    collapse from each beta's mean, and their degrees of freedom. Kept per candidate by the loop, so
    that pooling stays cheap when a run holds thousands of candidates."""
    squares, degrees = 0.0, 0
    for _, group in _group_by_beta([t for t in trainings if not t.collapsed]):
        if len(group) > 1:
            squares += statistics.variance([t.fitness for t in group]) * (len(group) - 1)
            degrees += len(group) - 1
    return squares, degrees


def combined_noise(shares: Iterable[tuple[float, int]]) -> float | None:
    """The pooled standard deviation of the given shares (see `noise_share`); None without any degree."""
    squares, degrees = 0.0, 0
    for share_squares, share_degrees in shares:
        squares, degrees = squares + share_squares, degrees + share_degrees
    return math.sqrt(squares / degrees) if degrees else None


def paired_comparison(result: EvaluationResult, baseline: EvaluationResult) -> PairedComparison | None:
    """`result` at its best beta against `baseline` at the beta of comparable KL, seed by seed; None
    when they share no seed."""
    matched = _matching_beta(result, baseline)
    ours = {t.seed: t.fitness for t in result.seeds if t.beta == result.best_beta}
    theirs = {t.seed: t.fitness for t in baseline.seeds if t.beta == matched.beta}
    common = sorted(ours.keys() & theirs.keys())
    if not common:
        return None
    differences = [ours[seed] - theirs[seed] for seed in common]
    se = statistics.stdev(differences) / math.sqrt(len(differences)) if len(differences) > 1 else None
    ratio = result.kl / matched.kl if result.kl is not None and matched.kl else None
    return PairedComparison(
        baseline=baseline.objective,
        beta=matched.beta,
        kl_ratio=ratio,
        n=len(common),
        difference=statistics.fmean(differences),
        difference_se=se,
        p_value=sign_flip_p_value(differences),
    )


def sign_flip_p_value(differences: list[float]) -> float:
    """Two-sided p-value of "the mean difference is zero" under random signs: exact (every sign
    pattern) for up to 16 pairs, else a normal approximation. With n pairs it is never below 2/2**n,
    so three seeds can at best say 0.25: a figure that tells how little few seeds prove."""
    n = len(differences)
    observed = abs(sum(differences))
    if n == 0 or observed == 0:
        return 1.0
    if n <= _EXACT_SIGN_FLIP_MAX:
        tolerance = 1e-12 * max(abs(d) for d in differences)
        extreme = sum(
            abs(sum(s * d for s, d in zip(signs, differences, strict=True))) >= observed - tolerance
            for signs in itertools.product((1, -1), repeat=n)
        )
        return extreme / 2**n
    spread = math.sqrt(sum(d * d for d in differences))
    return 2 * (1 - NormalDist().cdf(observed / spread))


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment of p-values from several tests at once, in their order: with k
    tests, the smallest is multiplied by k, the next by k - 1, and so on, each at least the one
    before it, at most 1. Rejecting where the adjusted value is below alpha keeps the chance of any
    false discovery among the k below alpha, whatever their dependence."""
    order = sorted(range(len(p_values)), key=p_values.__getitem__)
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def spearman(first: list[float], second: list[float]) -> float:
    """The rank correlation of two equally long lists (ties share their mean rank); needs three
    values at least, and is undefined (raises) when either list is constant."""
    return statistics.correlation(_ranks(first), _ranks(second))


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for index in order[start : end + 1]:
            ranks[index] = (start + end) / 2
        start = end + 1
    return ranks


def _group_by_beta(trainings: list[SeedResult]) -> list[tuple[float | None, list[SeedResult]]]:
    """Trainings grouped by beta, betas in increasing order (None, the single-beta case, first)."""
    groups: dict[float | None, list[SeedResult]] = {}
    for training in trainings:
        groups.setdefault(training.beta, []).append(training)
    return sorted(groups.items(), key=lambda item: -math.inf if item[0] is None else item[0])


def _beta_figures(beta: float | None, group: list[SeedResult], noise_sd: float | None) -> BetaFigures:
    fitnesses = [t.fitness for t in group]
    spread = statistics.stdev(fitnesses) if len(fitnesses) > 1 else None
    floors = [sd for sd in (spread, noise_sd) if sd is not None]
    return BetaFigures(
        beta=beta,
        n=len(group),
        fitness=statistics.fmean(fitnesses),
        fitness_se=max(floors) / math.sqrt(len(group)) if floors else None,
        reward=_mean(t.reward for t in group),
        kl=_mean(t.kl for t in group),
        accuracy=_mean(t.accuracy for t in group),
        collapse_rate=sum(t.collapsed for t in group) / len(group),
    )


def _interval(figures: BetaFigures, confidence: float) -> tuple[float | None, float | None]:
    if figures.fitness_se is None:
        return None, None
    half = NormalDist().inv_cdf(0.5 + confidence / 2) * figures.fitness_se
    return figures.fitness - half, figures.fitness + half


def _lower_end(figures: BetaFigures, confidence: float) -> float:
    """What a beta is ranked by, as objectives are (`EvaluationResult.ranking`): its interval's lower
    end, or its mean while no interval is known."""
    low, _ = _interval(figures, confidence)
    return figures.fitness if low is None else low


def _matching_beta(result: EvaluationResult, baseline: EvaluationResult) -> BetaFigures:
    """The baseline's beta whose KL is closest to the objective's (in ratio); its own best beta when
    KL is not measured."""
    measured = [figures for figures in baseline.betas if figures.kl is not None and figures.kl > 0]
    if result.kl is None or result.kl <= 0 or not measured:
        return next(f for f in baseline.betas if f.beta == baseline.best_beta)
    return min(measured, key=lambda figures: abs(math.log(figures.kl / result.kl)))


def _mean(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.fmean(present) if present else None
