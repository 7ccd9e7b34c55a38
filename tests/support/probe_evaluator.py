"""A test double for the loop: scores an objective in milliseconds, without a model.

"Training" computes how strongly the loss pushes the chosen log-prob up on a fixed batch and writes
it to a file; scoring squashes that to (0, 1). A source containing the word CRASH raises during
training, as a diverging candidate would. Each scoring appends the candidate and training to a log in
the cache folder, so tests can prove nothing is trained twice, across processes.
"""

import json
from pathlib import Path

import torch
from pydantic import BaseModel, ConfigDict, Field

from discovery.objectives import Objective
from discovery.records import SeedResult
from evaluators import Evaluator, register
from evaluators.base import TrainingLimits

PUSH_FILE = "push.json"
LOG_NAME = "probe-evaluations.log"


class ProbeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    variant: int = Field(0, description="changes the configuration only, so tests can tell two apart")
    betas: list[float] = Field([0.1], description="the beta grid")


@register
class ProbeEvaluator(Evaluator):
    name = "probe"
    description = "test double: gradient-direction score, no training"
    Options = ProbeOptions

    def config(self) -> dict:
        return {"kind": "probe", **self.options.model_dump()}

    def figures(self) -> dict[str, str]:
        return {"fitness": "sigmoid of the mean push on the chosen log-prob (test double)"}

    def prepare(self, progress=None) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    def limits(self) -> TrainingLimits:
        return TrainingLimits(timeout_s=60, memory_mb=2048)

    def betas(self) -> list[float]:
        return list(self.options.betas)

    def train(self, objective: Objective, seed: int, beta: float, output_dir: Path, progress) -> None:
        if "CRASH" in objective.source:
            raise RuntimeError("loss became NaN at step 3")
        generator = torch.Generator().manual_seed(seed)
        inputs = [(-torch.rand(16, generator=generator, dtype=torch.float64) * 40) for _ in range(4)]
        inputs[0].requires_grad_(True)
        objective.compile()(*inputs, beta).mean().backward()
        (output_dir / PUSH_FILE).write_text(json.dumps(-inputs[0].grad.mean().item()))

    def score(self, output_dir: Path, seed: int, progress) -> SeedResult:
        push = float(json.loads((output_dir / PUSH_FILE).read_text()))
        with open(self.cache_dir / LOG_NAME, "a") as log:  # job folders: <candidate>/round<k>/<training>
            log.write(f"{output_dir.parent.parent.name}/{output_dir.name}\n")
        return SeedResult(seed=seed, fitness=float(torch.sigmoid(torch.tensor(push * 100))), seconds=0.0)


def evaluations(cache_dir: Path) -> list[str]:
    """The trainings scored so far with this cache folder, in order, as `<candidate id>/<training>`
    (`seed-dpo/seed0-beta0.1`)."""
    log = Path(cache_dir) / LOG_NAME
    return log.read_text().split() if log.is_file() else []


def evaluated(cache_dir: Path) -> set[str]:
    """The candidate ids with at least one training scored with this cache folder."""
    return {entry.split("/")[0] for entry in evaluations(cache_dir)}
