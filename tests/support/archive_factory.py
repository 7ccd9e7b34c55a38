"""Archives built through the `Archive` API, for tests and benchmarks (the loop is not needed).

A sample run is seeded with the objectives a default run seeds (their paper figures attached, as
the loop does), then holds generations of proposals of every status, with parents, metrics per seed
and LLM exchanges, so browsing code meets what a real run writes.
"""

from datetime import timedelta
from pathlib import Path

from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.fitness import summarise
from discovery.objectives import default_seed_names, load_objective
from discovery.records import (
    CandidateRecord,
    CandidateStatus,
    EvaluationResult,
    ExchangeRecord,
    ReportedFigures,
    RunRecord,
    RunStatus,
    SeedResult,
    now,
)

NOVEL_CODE = '''"""Margin-scaled logistic: a logistic loss whose temperature grows with the margin."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * rho * (1 + 0.1 * torch.tanh(rho)))
'''

# Behaviour map cells cycled through by the proposals that pass the sandbox.
CELLS = ("falls·bounded·margin", "stops·bounded·margin", "grows·unbounded·margin", "eases·fades·mixed")
# Statuses cycled through by the proposals of a sample run, scored most often like a real run.
_CYCLE = (
    CandidateStatus.SCORED,
    CandidateStatus.INVALID,
    CandidateStatus.SCORED,
    CandidateStatus.DUPLICATE,
    CandidateStatus.SCORED,
    CandidateStatus.FAILED,
)


def metrics(name: str, fitness: float, seeds: int = 2) -> EvaluationResult:
    """Figures over `seeds` seeds spread symmetrically around `fitness`."""
    results = [
        SeedResult(
            seed=s, fitness=fitness + (s - (seeds - 1) / 2) * 0.01, reward=fitness * 2, kl=0.5 + s, seconds=3
        )
        for s in range(seeds)
    ]
    return summarise(name, results)


def run_record(run_id: str, status: RunStatus = RunStatus.FINISHED, minutes_ago: int = 0) -> RunRecord:
    return RunRecord(
        id=run_id,
        config=RunConfig(
            generations=10, seeds=2, suite="single"
        ),  # a single-task run: data, model, beta held out
        evaluator_config={"evaluator": "sentiment", "beta": 0.1},
        versions={"discover": "0.1.0"},
        proposer="builtin",
        status=status,
        started=now() - timedelta(minutes=minutes_ago),
    )


def seed_candidates(run_id: str, fitness_base: float = 0.6) -> list[CandidateRecord]:
    """The objectives a default run seeds, each scored at generation 0 and carrying its reported paper
    figures."""
    seeds = []
    for index, name in enumerate(default_seed_names()):
        objective = load_objective(name)
        seeds.append(
            CandidateRecord.of(
                objective,
                id=f"seed-{name}",
                run_id=run_id,
                generation=0,
                is_seed=True,
                status=CandidateStatus.SCORED,
                figures=metrics(name, fitness_base + 0.01 * index),
                reported=ReportedFigures.of_shipped(name),
            )
        )
    return seeds


def proposal(
    run_id: str, index: int, generation: int, parents: list[str], exchange_id: int | None
) -> CandidateRecord:
    """The `index`-th proposal of a sample run; its status follows `_CYCLE`."""
    status = _CYCLE[index % len(_CYCLE)]
    name = f"blend_{index}"
    fitness = 0.5 + (index * 37 % 100) / 250
    reasons = {
        CandidateStatus.INVALID: ("static", "line 3: import of 'os' is not allowed"),
        CandidateStatus.DUPLICATE: (None, "same fingerprint as seed-dpo"),
        CandidateStatus.FAILED: (None, "training produced NaN loss at step 12"),
    }
    stage, reason = reasons.get(status, (None, None))
    return CandidateRecord(
        id=f"g{generation}-c{index}",
        run_id=run_id,
        generation=generation,
        name=name,
        thought=f"Blend number {index} of logistic and exponential losses.",
        code=NOVEL_CODE.replace("0.1", f"0.{index + 1}"),
        code_hash=f"hash{index:05d}",
        parents=parents,
        status=status,
        stage=stage,
        reason=reason,
        fingerprint=[0.1 * index, 0.2],
        island=index % 2,
        cell=None if status is CandidateStatus.INVALID else CELLS[index % len(CELLS)],
        figures=metrics(name, fitness) if status is CandidateStatus.SCORED else None,
        exchange_id=exchange_id,
        seconds=12.5,
    )


def build_run(
    runs_dir: Path,
    run_id: str = "run-a",
    proposals: int = 12,
    status: RunStatus = RunStatus.FINISHED,
    minutes_ago: int = 0,
) -> Path:
    """A finished sample run with seeds and `proposals` proposals (one per generation); returns its folder."""
    with Archive.create(runs_dir, run_record(run_id, status, minutes_ago)) as archive:
        archive.add_candidates(seed_candidates(run_id))
        candidates = []
        for index in range(proposals):
            exchange_id = archive.add_exchange(
                ExchangeRecord(
                    run_id=run_id,
                    generation=index + 1,
                    messages=[{"role": "user", "content": f"Propose objective number {index}."}],
                    response=f'{{"name": "blend_{index}", "thought": "...", "code": "..."}}',
                    prompt_tokens=100,
                    completion_tokens=40,
                )
            )
            parents = ["seed-discopop"] if index == 0 else [candidates[-1].id, "seed-dpo"]
            candidates.append(proposal(run_id, index, index + 1, parents, exchange_id))
        archive.add_candidates(candidates)
        run = archive.run()
        archive.update_run(run.model_copy(update={"generations_done": proposals}))
        return archive.run_dir
