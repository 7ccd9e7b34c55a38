"""The `builtin` proposer: new objectives from the archive's own, with no LLM and no network.

Each proposal applies one move to parents drawn by tournament on fitness from the island's best,
the behaviour map's elites and the recent, with some purely random draws for exploration. Under
`operators: all` the move is mostly a mutation of the program itself from `program_mutations`
(replace, insert or delete a subexpression, perturb a constant, swap an operator, cross two parents
over, simplify), otherwise one of the classic moves from `mutations` (blend two objectives, modulate
their mix by the margin, add a margin, a tail or a temperature, retune named constants); under
`operators: classic`, the classic moves alone. Drafts are screened in the sandbox through the
loop's `check` (they must pass it, and train differently from every known
objective: the sandbox measures each draft's gradient signature); a draft the archive already has
is replaced by another, up to a few times. Everything is drawn from a generator seeded by (seed,
generation, island), so a run with the same seed and the same archive proposes the same objectives.

It lets the whole product run offline, and it is the baseline an LLM proposer has to beat.
"""

import math
import random
from typing import Literal

from discovery.objectives import shipped_names
from discovery.proposers.base import Checker, Proposal, ProposalContext, Proposer
from discovery.proposers.mutations import Draft, Move, Parent
from discovery.proposers.naming import unique_name
from discovery.proposers.program_mutations import OPERATOR_SETS
from discovery.proposers.splice import spliceable
from discovery.records import CandidateStatus

_TOURNAMENT = 3
_EXPLORE = 0.25  # share of parent draws made uniformly at random instead of by tournament
# Gradient signatures this aligned (cosine) mean the same training signal up to a learning-rate factor.
_SAME_BEHAVIOUR = 0.9999


class BuiltinProposer(Proposer):
    """Mutation and recombination of archive objectives, guided by fitness."""

    name = "builtin"

    def __init__(
        self,
        seed: int = 0,
        max_checks: int = 4,
        max_drafts: int = 60,
        operators: Literal["all", "classic"] = "all",
    ) -> None:
        """`max_checks` bounds the drafts offered per proposal that the sandbox passes but the archive
        already has; `max_drafts` bounds the drafts tried; `operators` is `search.operators`."""
        self.seed = seed
        self.moves = OPERATOR_SETS[operators]
        self.max_checks = max_checks
        self.max_drafts = max_drafts

    def propose(self, context: ProposalContext, count: int, check: Checker) -> list[Proposal]:
        # A string seed keeps runs with neighbouring seeds from replaying each other's generations,
        # and the islands of one generation from drawing alike.
        island = "" if context.island is None else f":island{context.island}"
        rng = random.Random(f"builtin:{self.seed}:{context.generation}{island}")
        pool = _parents(context)
        known = [behaviour for parent in pool if (behaviour := check(parent.code).behaviour) is not None]
        shown = [*context.best, *context.elites, *context.recent]
        taken = {candidate.name for candidate in shown} | set(shipped_names())
        proposals = []
        for _ in range(count):
            proposal = self._propose_one(rng, pool, known, check, context.generation)
            proposal.name = unique_name(proposal.name, taken)
            taken.add(proposal.name)
            proposals.append(proposal)
        return proposals

    def _propose_one(
        self,
        rng: random.Random,
        pool: list[Parent],
        known: list[list[float]],
        check: Checker,
        generation: int,
    ) -> Proposal:
        rejected: Draft | None = None
        checks = 0
        for _ in range(self.max_drafts):
            draft = _draft(rng, pool, self.moves)
            if draft is None:
                continue
            verdict = check(draft.code)
            behaviour = verdict.behaviour
            if behaviour is None or any(same_behaviour(behaviour, other) for other in known):
                continue  # broken in the sandbox, or it trains like an objective already tried
            known.append(behaviour)  # never offer the same behaviour twice, accepted or not
            if verdict.reason is None:
                return _proposal(draft)
            rejected, checks = draft, checks + 1
            if checks >= self.max_checks:
                break
        if rejected is not None:
            return _proposal(rejected)  # the loop records why it was rejected
        return Proposal(
            name=f"builtin_g{generation}",
            thought="",
            code="",
            error=f"the built-in proposer found no new working objective in {self.max_drafts} drafts",
        )


def same_behaviour(first: list[float], second: list[float]) -> bool:
    """Whether two unit gradient signatures train alike (equal up to a positive scale)."""
    if len(first) != len(second):
        return False
    return math.fsum(a * b for a, b in zip(first, second, strict=True)) > _SAME_BEHAVIOUR


def _parents(context: ProposalContext) -> list[Parent]:
    """Scored archive objectives a move can start from: the island's best, the behaviour map's elites
    of other cells (so that parents are not all drawn from the top of one list, where a search
    collapses onto blends of its early leaders) and the recent; while none is scored (the first
    generations of a run with several workers), the run's own seeds: never a shipped objective the
    run did not seed, which a run seeded with DPO alone must find by itself."""
    seen: set[str] = set()
    pool = []
    for candidate in [*context.best, *context.elites, *context.recent]:
        usable = candidate.status is CandidateStatus.SCORED and candidate.fitness is not None
        if usable and candidate.id not in seen and spliceable(candidate.code):
            seen.add(candidate.id)
            pool.append(
                Parent(candidate.id, candidate.name, candidate.code, candidate.thought, candidate.fitness)
            )
    if pool:
        return pool
    return [
        Parent(seed.id, seed.name, seed.code, seed.thought, seed.fitness)
        for seed in context.seeds
        if spliceable(seed.code)
    ]


def _draft(rng: random.Random, pool: list[Parent], moves: tuple[Move, ...]) -> Draft | None:
    """One of `moves` applied to parents drawn from the pool, or None when the move does not apply."""
    move = rng.choices(moves, weights=[move.weight for move in moves])[0]
    if move.arity > len(pool):
        return None
    parents: list[Parent] = []
    for _ in range(move.arity):
        parents.append(_select(rng, [parent for parent in pool if parent not in parents]))
    try:
        return move.apply(rng, *parents)
    except ValueError:  # NotSpliceable, or nothing for the move to change
        return None


def _select(rng: random.Random, options: list[Parent]) -> Parent:
    """Tournament on fitness, or a uniform draw for exploration (and when fitness is unknown)."""
    if rng.random() < _EXPLORE or any(option.fitness is None for option in options):
        return rng.choice(options)
    contenders = rng.sample(options, min(_TOURNAMENT, len(options)))
    return max(contenders, key=lambda parent: parent.fitness or 0.0)


def _proposal(draft: Draft) -> Proposal:
    parents = [parent.id for parent in draft.parents]
    return Proposal(name=draft.name, thought=draft.thought, code=draft.code, parents=parents)
