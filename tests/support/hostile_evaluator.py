"""A test evaluator whose training runs arbitrary Python with the real builtins: the gate is off.

A candidate's source may carry a payload in comment lines `# PAYLOAD: <python>`; the static gate
ignores comments, so the candidate passes validation, and `train` (inside the confined trainer)
executes the payload ungated before it trains: what a candidate that slipped past the gate could do.
Training itself is a few gradient steps on a fixed batch; the "policy" it writes is one number, and
`score`, in the trusted process, turns that number into the fitness.
"""

import builtins
import json
import math
from pathlib import Path

import torch
from pydantic import BaseModel, ConfigDict

from discovery.objectives import Objective
from discovery.records import SeedResult
from discovery.sandbox.outputs import read_json
from evaluators import Evaluator, register
from evaluators.base import TrainingLimits

POLICY_FILE = "policy.json"
PAYLOAD = "# PAYLOAD: "


class HostileOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = 20.0
    memory_mb: int = 1024


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shift: float


@register
class HostileEvaluator(Evaluator):
    name = "hostile"
    description = "test double: runs a candidate's payload ungated inside the confined trainer"
    Options = HostileOptions

    def config(self) -> dict:
        return {"kind": "hostile", **self.options.model_dump()}

    def figures(self) -> dict[str, str]:
        return {"fitness": "how far training moved the chosen log-prob, squashed (test double)"}

    def prepare(self, progress=None) -> None:
        pass

    def limits(self) -> TrainingLimits:
        return TrainingLimits(timeout_s=self.options.timeout_s, memory_mb=self.options.memory_mb)

    def betas(self) -> list[float]:
        return [0.1]

    def train(self, objective: Objective, seed: int, beta: float, output_dir: Path, progress) -> None:
        payload = "\n".join(
            line[len(PAYLOAD) :] for line in objective.source.splitlines() if line.startswith(PAYLOAD)
        )
        exec(compile(payload, "<payload>", "exec"), {"__builtins__": builtins, "torch": torch})
        loss = objective.compile()
        generator = torch.Generator().manual_seed(seed)
        chosen = torch.zeros(16, requires_grad=True)
        others = [-torch.rand(16, generator=generator) * 10 for _ in range(3)]
        optimizer = torch.optim.SGD([chosen], lr=1.0)
        for _ in range(5):
            optimizer.zero_grad()
            loss(chosen, *others, beta).mean().backward()
            optimizer.step()
        (output_dir / POLICY_FILE).write_text(json.dumps({"shift": chosen.mean().item()}))

    def score(self, output_dir: Path, seed: int, progress) -> SeedResult:
        shift = read_json(output_dir, POLICY_FILE, Policy).shift
        return SeedResult(seed=seed, fitness=1 / (1 + math.exp(-max(min(shift, 50), -50))), seconds=0.0)


def with_payload(source: str, payload: str) -> str:
    """`source` carrying `payload` (any Python, one statement per line) in comment lines."""
    return "".join(f"{PAYLOAD}{line}\n" for line in payload.strip().splitlines()) + source


@register
class JudgedHostileEvaluator(HostileEvaluator):
    """The same, declared to call an endpoint in its scoring, as a judged evaluator does."""

    name = "hostile-judged"
    description = "test double: the hostile evaluator, declared to call an LLM endpoint when it scores"
    calls_endpoint = True
