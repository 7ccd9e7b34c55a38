"""A test double for the loop: scores an objective in milliseconds, without training.

Fitness is how strongly the loss pushes the chosen log-prob up on a fixed batch, squashed to
(0, 1); a source containing the word CRASH raises during "training", as a diverging candidate would.
Every evaluation is counted per code hash so tests can prove nothing is scored twice.
"""

from collections import Counter
from typing import ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field

from discovery.objectives import Objective
from discovery.records import SeedResult
from evaluators import Evaluator, register


class ProbeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    variant: int = Field(0, description="changes the configuration only, so tests can tell two apart")


@register
class ProbeEvaluator(Evaluator):
    name = "probe"
    description = "test double: gradient-direction score, no training"
    Options = ProbeOptions
    evaluations: ClassVar[Counter] = Counter()

    def config(self) -> dict:
        return {"kind": "probe", **self.options.model_dump()}

    def figures(self) -> dict[str, str]:
        return {"fitness": "sigmoid of the mean push on the chosen log-prob (test double)"}

    def prepare(self, progress=None) -> None:
        pass

    def evaluate_seed(self, objective: Objective, seed: int, progress=None) -> SeedResult:
        ProbeEvaluator.evaluations[objective.code_hash] += 1
        if "CRASH" in objective.source:
            raise RuntimeError("loss became NaN at step 3")
        generator = torch.Generator().manual_seed(seed)
        inputs = [(-torch.rand(16, generator=generator, dtype=torch.float64) * 40) for _ in range(4)]
        inputs[0].requires_grad_(True)
        objective.compile()(*inputs, 0.1).mean().backward()
        push = -inputs[0].grad.mean().item()
        return SeedResult(seed=seed, fitness=float(torch.sigmoid(torch.tensor(push * 100))), seconds=0.0)
