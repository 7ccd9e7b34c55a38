"""What the `openai` proposer's tests are shown and check with: a context of scored seeds, the real
static gate as the loop's check, a usable objective, and the data blocks of the prompts it builds."""

import json
import re

from discovery.fitness import summarise
from discovery.objectives import load_objective
from discovery.objectives.gate import check_source
from discovery.proposers.base import Check, ProposalContext
from discovery.records import CandidateRecord, CandidateStatus, SeedResult

GOOD = '''"""Logistic loss with a margin."""

import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * rho - 0.5)
'''
DATA_BLOCK = re.compile(r"^```json\n(.*?)\n```$", re.DOTALL | re.MULTILINE)


def data_blocks(prompt: str) -> list[list[dict]]:
    """The JSON data blocks of a user prompt: the archive, then the latest results, the run's
    meta-summary and the parent, those the prompt has."""
    return [json.loads(block) for block in DATA_BLOCK.findall(prompt)]


def static_check(code: str) -> Check:
    """The real static gate as the loop's `check` (no archive, so no duplicates)."""
    return Check("; ".join(str(violation) for violation in check_source(code)) or None, None)


def scored(name: str, fitness: float, generation: int = 0, **fields) -> CandidateRecord:
    objective = load_objective(name) if generation == 0 else None
    metrics = summarise(name, [SeedResult(seed=0, fitness=fitness, kl=1.5, seconds=10.0)])
    return CandidateRecord(
        id=f"seed-{name}" if generation == 0 else f"g{generation}-c0",
        run_id="run",
        generation=generation,
        name=name,
        thought=objective.thought if objective else "an idea",
        code=objective.source if objective else GOOD,
        code_hash=objective.code_hash if objective else "h",
        is_seed=generation == 0,
        status=CandidateStatus.SCORED,
        figures=metrics,
        **fields,
    )


def context(recent: list[CandidateRecord] | None = None) -> ProposalContext:
    best = [scored("dpo", 0.69), scored("slic", 0.68)]
    return ProposalContext(
        run_id="run",
        generation=1,
        evaluator="sentiment",
        figures={"fitness": "win rate of the policy against the reference", "kl": "KL to the reference"},
        best=best,
        recent=recent if recent is not None else best,
    )
