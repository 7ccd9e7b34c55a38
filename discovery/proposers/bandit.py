"""Which model of the proposer's ensemble answers the next request: Thompson sampling on the share
of what a proposal was shown that it went on to beat, per unit of cost.

Why Thompson sampling rather than UCB. A generation asks for `population` proposals at once, and a
proposal's reward arrives only after its training, generations later: UCB is deterministic given
the state, so it would send a whole generation, and every generation until the rewards come in, to
one model; Thompson's draws spread a batch over the models in proportion to how likely each is the
best, which is what delayed, batched feedback needs. It also needs no exploration constant tuned to
the reward's scale, and a draw from a seeded generator is as reproducible as an index.

The reward of a proposal is in [0, 1]: the share of the candidates it was shown (the archive's best,
its parent among them, with their fitness when it was proposed, as its recorded context keeps them)
whose fitness it exceeded; one that was invalid, a duplicate or failed earns 0, and one shown
nothing earns 1 once scored. A share, not a fitness difference, so the reward means the same on
every evaluator's scale. Each model's rewards update a Beta(1, 1) prior as fractional successes;
a draw from its posterior is divided by the model's mean cost per proposal: estimated USD where
every model tried has a price, else tokens (a model without a price is compared by tokens, never
as free). A model not tried yet is charged the mean of the others' costs, so it is tried early.

The state is never kept in memory between requests: it is derived from the archive (each
candidate's exchange names its model; its status, figures and context give the reward; the
exchanges give the spend), and each draw comes from a generator seeded with (random_seed,
generation, slot, island). A resumed run therefore continues the bandit exactly where it stopped.
"""

import math
import random
from dataclasses import dataclass

from discovery.archive import Archive
from discovery.records import CandidateRecord, CandidateStatus

_PENDING = (CandidateStatus.PROPOSED, CandidateStatus.VALIDATED, CandidateStatus.RUNNING)


@dataclass(frozen=True)
class ModelRecord:
    """What a model's proposals so far came to."""

    rewards: tuple[float, ...]  # of its proposals whose outcome is known
    proposals: int  # all of them, pending ones included (their requests are paid for)
    usd: float | None  # spent on its proposal requests; None when an exchange had no estimate
    tokens: int


def draw_seed(random_seed: int, generation: int, slot: int, island: int | None = None) -> random.Random:
    """The generator of one request's draws: the `slot`-th of `generation` on `island` (Python seeds
    a `str` through SHA-512: the same generator in every process). The island is part of it, so that
    the islands asked in one generation do not draw alike."""
    place = "" if island is None else f":island{island}"
    return random.Random(f"{random_seed}:{generation}:{slot}{place}")


def reward(candidate: CandidateRecord) -> float | None:
    """The candidate's reward (see the module docstring); None while its outcome is pending."""
    if candidate.status in _PENDING:
        return None
    fitness = candidate.fitness
    if candidate.status is not CandidateStatus.SCORED or fitness is None or not math.isfinite(fitness):
        return 0.0
    shown = [
        value
        for _, value in (candidate.context or {}).get("best", [])
        if isinstance(value, int | float) and math.isfinite(value)
    ]
    return sum(fitness > value for value in shown) / len(shown) if shown else 1.0


def records(archive: Archive, models: list[str]) -> dict[str, ModelRecord]:
    """Each model's record, from the run's archive."""
    asked = archive.exchange_models()
    spend = archive.spend_by_model()
    rewards: dict[str, list[float]] = {model: [] for model in models}
    proposals = dict.fromkeys(models, 0)
    for candidate in archive.candidates():
        model = asked.get(candidate.exchange_id) if candidate.exchange_id is not None else None
        if candidate.is_seed or model not in proposals:
            continue
        proposals[model] += 1
        if (earned := reward(candidate)) is not None:
            rewards[model].append(earned)
    return {
        model: ModelRecord(tuple(rewards[model]), proposals[model], *spend.get(model, (0.0, 0)))
        for model in models
    }


def choose(history: dict[str, ModelRecord], rng: random.Random) -> str:
    """The model with the highest posterior draw per unit of cost (the first of equals)."""
    costs = _costs(history)
    scores = {}
    for model, record in history.items():
        earned = sum(record.rewards)
        draw = rng.betavariate(1.0 + earned, 1.0 + len(record.rewards) - earned)
        scores[model] = draw / costs[model]
    return max(scores, key=scores.__getitem__)


def _costs(history: dict[str, ModelRecord]) -> dict[str, float]:
    """Mean cost per proposal of each model, in USD where every tried model has a price, else in
    tokens; the mean of those for a model not tried yet (1 when none was)."""
    tried = {model: record for model, record in history.items() if record.proposals}
    priced = all(record.usd for record in tried.values())
    known = {
        model: max((record.usd if priced else record.tokens) or 0.0, 1e-12) / record.proposals
        for model, record in tried.items()
    }
    untried = sum(known.values()) / len(known) if known else 1.0
    return {model: known.get(model, untried) for model in history}
