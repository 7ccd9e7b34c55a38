"""The data behind the figures of a run, computed from archive records and nothing else.

The terminal chart, the browser and the HTML report all read a run through these functions, so
that what a figure shows is decided once: which candidates count as scored (as the archive's
leaderboard: with figures, ranked by the lower end of their interval), what "best so far" means,
which candidates form the reward-KL frontier, how the lineage is wired, what the held-out
confirmation found. New fitness fields of the records are read here, and only here.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from discovery.records import (
    BetaFigures,
    CandidateRecord,
    CandidateStatus,
    ExchangeRecord,
    PairedComparison,
    RunRecord,
    TransferRecord,
    now,
)
from discovery.transfer import Confirmation, TransferSummary

# Statuses whose candidates have figures: scored, or racing for more seeds (as on the leaderboard).
MEASURED = (CandidateStatus.SCORED, CandidateStatus.RUNNING)


@dataclass(frozen=True)
class SeedPoint:
    """One training's figures of a candidate: one seed at one beta (None: the evaluator's only one)."""

    seed: int
    beta: float | None
    fitness: float
    reward: float | None
    kl: float | None
    collapsed: bool


@dataclass(frozen=True)
class Scored:
    """A scored candidate as the figures see it."""

    id: str
    name: str
    generation: int
    is_seed: bool
    fitness: float  # the mean at its best beta
    interval: tuple[float, float] | None  # of that mean; None when unknown (one seed, no noise estimate)
    n: int  # seeds at the best beta
    best_beta: float | None
    reward: float | None  # at the best beta, as is kl
    kl: float | None
    collapse_rate: float  # share of all its trainings that collapsed
    paired: PairedComparison | None  # against the baseline (DPO) at comparable KL
    betas: tuple[BetaFigures, ...]  # its figures at every beta of the grid
    seeds: tuple[SeedPoint, ...]  # every training, at every beta

    @property
    def on_plane(self) -> bool:
        """Whether it has a place on the reward-KL plane (an evaluator may measure neither)."""
        return _finite(self.reward) and _finite(self.kl)

    @property
    def headline_seeds(self) -> tuple[SeedPoint, ...]:
        """The trainings its headline figures are the mean of: those at its best beta."""
        return tuple(s for s in self.seeds if s.beta == self.best_beta)

    @property
    def error(self) -> tuple[float, float] | None:
        """How far the interval reaches below and above the mean (an error bar), None when unknown."""
        return (
            None
            if self.interval is None
            else (self.fitness - self.interval[0], self.interval[1] - self.fitness)
        )


def scored(candidates: list[CandidateRecord]) -> list[Scored]:
    """The candidates with a finite fitness (scored, or racing with figures), in archive order."""
    found = []
    for candidate in candidates:
        metrics = candidate.figures
        if candidate.status not in MEASURED or metrics is None or not _finite(metrics.fitness):
            continue
        low, high = metrics.fitness_low, metrics.fitness_high
        found.append(
            Scored(
                id=candidate.id,
                name=candidate.name,
                generation=candidate.generation,
                is_seed=candidate.is_seed,
                fitness=metrics.fitness,
                interval=(low, high) if _finite(low) and _finite(high) else None,
                n=metrics.n,
                best_beta=metrics.best_beta,
                reward=metrics.reward,
                kl=metrics.kl,
                collapse_rate=metrics.collapse_rate,
                paired=metrics.paired,
                betas=tuple(metrics.betas),
                seeds=tuple(
                    SeedPoint(s.seed, s.beta, s.fitness, s.reward, s.kl, s.collapsed) for s in metrics.seeds
                ),
            )
        )
    return found


def ranked(candidates: list[CandidateRecord]) -> list[CandidateRecord]:
    """The leaderboard, as the archive's: candidates with figures, by the lower end of their interval
    (`EvaluationResult.ranking`), best first, ties in archive order."""
    ids = {s.id for s in scored(candidates)}
    return sorted((c for c in candidates if c.id in ids), key=lambda c: -_ranking(c))


def best_so_far(
    candidates: list[CandidateRecord], last_generation: int | None = None
) -> list[tuple[int, float]]:
    """(generation, best fitness of any candidate up to and including it) for every generation from
    the first with a scored candidate to `last_generation` (default: the last with one).

    A running maximum taken over generations in order: it never decreases, and it stays flat through
    generations whose candidates all did worse or failed, up to where the run stopped.
    """
    best: dict[int, float] = {}
    for candidate in scored(candidates):
        best[candidate.generation] = max(best.get(candidate.generation, -math.inf), candidate.fitness)
    if not best:
        return []
    last = max(best) if last_generation is None else max(last_generation, max(best))
    running, line = -math.inf, []
    for generation in range(min(best), last + 1):
        running = max(running, best.get(generation, -math.inf))
        line.append((generation, running))
    return line


def frontier(points: list[Scored]) -> list[Scored]:
    """The reward-KL frontier: the candidates no other beats on both counts (at least as much reward
    for at most as much KL, one of them strictly), ordered by KL. Its upper-left edge is the best
    trade-off the run found; everything under it pays more KL for less reward."""
    placed = sorted((p for p in points if p.on_plane), key=lambda p: (p.kl, -p.reward))
    front: list[Scored] = []
    for point in placed:
        if not front or point.reward > front[-1].reward:
            front.append(point)
    return front


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    generation: int
    status: CandidateStatus
    fitness: float | None  # None unless scored with a finite fitness
    is_seed: bool


@dataclass(frozen=True)
class Lineage:
    """Who descends from whom: every candidate, and an edge from each parent the run holds to its child."""

    nodes: list[Node]
    edges: list[tuple[str, str]]  # (parent id, child id)


def lineage(candidates: list[CandidateRecord]) -> Lineage:
    fitness = {s.id: s.fitness for s in scored(candidates)}
    nodes = [Node(c.id, c.name, c.generation, c.status, fitness.get(c.id), c.is_seed) for c in candidates]
    ids = {c.id for c in candidates}
    edges = [(parent, c.id) for c in candidates for parent in dict.fromkeys(c.parents) if parent in ids]
    return Lineage(nodes, edges)


@dataclass(frozen=True)
class RunFacts:
    """What a run cost and how long it took, beside how it was configured."""

    started: datetime
    ended: datetime | None
    wall_seconds: float  # to its end, or to now while it runs
    counts: dict[str, int]  # candidate status -> number
    candidate_seconds: float  # validation, training and scoring, summed over candidates
    mean_seed_seconds: float | None  # one training seed of a scored candidate, on average
    mean_train_seconds: float | None  # its training phase alone, where the evaluator says
    llm_seconds: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None when no exchange carries an estimate


def run_facts(run: RunRecord, candidates: list[CandidateRecord], exchanges: list[ExchangeRecord]) -> RunFacts:
    counts: dict[str, int] = {}
    for candidate in candidates:
        counts[candidate.status.value] = counts.get(candidate.status.value, 0) + 1
    seeds = [
        s for c in candidates if c.figures and c.status is CandidateStatus.SCORED for s in c.figures.seeds
    ]
    trained = [s.train_seconds for s in seeds if s.train_seconds is not None]
    costs = [e.cost_usd for e in exchanges if e.cost_usd is not None]
    return RunFacts(
        started=run.started,
        ended=run.ended,
        wall_seconds=((run.ended or now()) - run.started).total_seconds(),
        counts=counts,
        candidate_seconds=sum(c.seconds or 0.0 for c in candidates),
        mean_seed_seconds=_mean([s.seconds for s in seeds]),
        mean_train_seconds=_mean(trained),
        llm_seconds=sum(e.seconds for e in exchanges),
        prompt_tokens=sum(e.prompt_tokens for e in exchanges),
        completion_tokens=sum(e.completion_tokens for e in exchanges),
        cost_usd=sum(costs) if costs else None,
    )


@dataclass(frozen=True)
class TransferCell:
    """One candidate on one held-out variant: its figure there and how it did against the baseline."""

    fitness: float | None  # None: the training failed (`failure` says why)
    difference: float | None  # minus the baseline's fitness on the same seeds; None for the baseline
    p_value: float | None
    survives: bool | None  # still beats the baseline there; None when unknown
    failure: str | None


@dataclass(frozen=True)
class TransferRow:
    candidate: CandidateRecord
    is_baseline: bool
    cells: list[TransferCell]  # one per variant, in `Transfers.variants` order
    confirmation: Confirmation | None  # over every variant and seed at once; None for the baseline

    @property
    def survived(self) -> int:
        return sum(bool(cell.survives) for cell in self.cells)


@dataclass(frozen=True)
class Transfers:
    """The run's held-out confirmation: per candidate and variant its figures, each proposal's
    verdict, and per variant the rank correlation (Spearman) of the search's fitness with the
    variant's."""

    variants: list[str]
    rows: list[TransferRow]  # the baseline first, then the proposals in leaderboard order
    correlations: dict[str, float | None]  # None: fewer than three distinct figures to rank


def confirmation_of(
    candidates: list[CandidateRecord], records: list[TransferRecord]
) -> TransferSummary | None:
    """The run's held-out confirmation as its archive holds it (None when it holds none): the
    baseline, then every proposal confirmed on, in leaderboard order. Every surface that shows a
    run's best (leaderboards, browser, report) reads its verdicts (`TransferSummary.confirmations`,
    Holm's correction over all of those proposals) and `run_result` from this, so none of them
    judges a run differently from another, nor only at the end of a live run."""
    if not records:
        return None
    transferred = {r.candidate_id for r in records}
    order = {c.id: index for index, c in enumerate(ranked(candidates))}
    chosen = sorted(
        (c for c in candidates if c.id in transferred),
        key=lambda c: (not c.is_seed, order.get(c.id, len(order))),
    )
    return TransferSummary([], chosen, {(r.variant, r.candidate_id): r for r in records})


def transfers(summary: TransferSummary | None) -> Transfers | None:
    """The rows of a confirmation (`confirmation_of`; None when there is none), judged as
    `discover transfer` judges them (`TransferSummary`)."""
    if summary is None:
        return None
    variants = list(dict.fromkeys(variant for variant, _ in summary.results))
    verdicts = summary.confirmations()
    rows = []
    for candidate in summary.candidates:
        cells = []
        for variant in variants:
            record = summary.results.get((variant, candidate.id))
            result = record.result if record else None
            paired = result.paired if result else None
            cells.append(
                TransferCell(
                    fitness=result.fitness if result else None,
                    difference=paired.difference if paired else None,
                    p_value=paired.p_value if paired else None,
                    survives=summary.survives(candidate.id, variant),
                    failure=(record.failure or "failed") if record and not result else None,
                )
            )
        rows.append(TransferRow(candidate, candidate.is_seed, cells, verdicts.get(candidate.id)))
    correlations = {variant: summary.rank_correlation(variant) for variant in variants}
    return Transfers(variants, rows, correlations)


def _ranking(candidate: CandidateRecord) -> float:
    return candidate.figures.ranking if candidate.figures else -math.inf


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
