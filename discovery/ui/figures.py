"""The data behind the figures of a run, computed from archive records and nothing else.

The terminal chart, the browser and the HTML report all read a run through these functions, so
that what a figure shows is decided once: which candidates count as scored, what "best so far"
means, which candidates form the reward-KL frontier, how the lineage is wired. When the records
gain fitness fields (intervals, per-beta figures, a comparison with DPO), they are read here.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from discovery.records import CandidateRecord, CandidateStatus, ExchangeRecord, RunRecord, now


@dataclass(frozen=True)
class SeedPoint:
    """One training seed's figures of a candidate."""

    seed: int
    fitness: float
    reward: float | None
    kl: float | None


@dataclass(frozen=True)
class Scored:
    """A scored candidate as the figures see it."""

    id: str
    name: str
    generation: int
    is_seed: bool
    fitness: float
    fitness_se: float | None  # None with a single training seed, which has no error estimate
    reward: float | None
    kl: float | None
    seeds: tuple[SeedPoint, ...]

    @property
    def on_plane(self) -> bool:
        """Whether it has a place on the reward-KL plane (an evaluator may measure neither)."""
        return _finite(self.reward) and _finite(self.kl)


def scored(candidates: list[CandidateRecord]) -> list[Scored]:
    """The candidates with a finite fitness, in archive order."""
    found = []
    for candidate in candidates:
        metrics = candidate.metrics
        if candidate.status is not CandidateStatus.SCORED or metrics is None or not _finite(metrics.fitness):
            continue
        seeds = tuple(SeedPoint(s.seed, s.fitness, s.reward, s.kl) for s in metrics.seeds)
        found.append(
            Scored(
                id=candidate.id,
                name=candidate.name,
                generation=candidate.generation,
                is_seed=candidate.is_seed,
                fitness=metrics.fitness,
                fitness_se=metrics.fitness_se if len(seeds) > 1 else None,
                reward=metrics.reward,
                kl=metrics.kl,
                seeds=seeds,
            )
        )
    return found


def ranked(candidates: list[CandidateRecord]) -> list[CandidateRecord]:
    """The leaderboard: scored candidates, best fitness first, ties in archive order (as the archive's)."""
    ids = {s.id for s in scored(candidates)}
    board = [c for c in candidates if c.id in ids]
    return sorted(board, key=lambda c: -c.fitness)


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
        s for c in candidates if c.metrics and c.status is CandidateStatus.SCORED for s in c.metrics.seeds
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


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
