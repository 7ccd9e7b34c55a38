"""A test double with seed noise that is known: each objective's true quality is in its name.

An objective named `..._q0.75` has quality 0.75 (the shipped seeds 0.6); every training scores its
quality plus a small seed-dependent wobble, and one named `lucky_...` scores 0.35 more on seed 0 only,
the way a heavy-tailed seed makes a mediocre candidate look best. Training only writes the name.
Its one held-out variant, `reversed`, turns the order of qualities around (1 - quality): what wins
the search loses there, which a transfer check must report. `noisy_kept` is the same task with two
held-out variants that keep every quality (two other betas, on which its figures do not depend): a
truly better objective is confirmed there, a lucky one is not (fresh seeds never include seed 0).
"""

import json
import re
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from discovery.objectives import Objective
from discovery.records import SeedResult
from discovery.sandbox.outputs import read_json
from evaluators import Evaluator, register
from evaluators.base import TrainingLimits, TransferVariant

TRAINED_FILE = "trained.json"
SHIPPED_QUALITY = 0.6
LUCKY_BOOST = 0.35
WOBBLE = (0.01, -0.008, 0.004, -0.012, 0.006, -0.002)  # by seed: a spread of about 0.01


class NoisyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    betas: list[float] = Field([0.1], description="the beta grid (the figures do not depend on it)")
    reversed: bool = Field(False, description="score 1 - quality: the held-out variant")
    built_when: str | None = Field(
        None, description="a file whose appearance ends the task's build (60 s at most): a slow build"
    )


class Trained(BaseModel):
    name: str


@register
class NoisyEvaluator(Evaluator):
    name = "noisy"
    description = "test double: known quality per objective, known seed noise, one lucky seed"
    Options = NoisyOptions

    def config(self) -> dict:
        return {"kind": "noisy", **self.options.model_dump()}

    def figures(self) -> dict[str, str]:
        return {"fitness": "the quality in the objective's name, plus seed noise (test double)"}

    def prepare(self, progress=None) -> None:
        if self.options.built_when is None:
            return
        deadline = time.monotonic() + 60
        while not Path(self.options.built_when).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if progress is not None:
            progress("built", 1.0)

    def limits(self) -> TrainingLimits:
        return TrainingLimits(timeout_s=60, memory_mb=2048)

    def betas(self) -> list[float]:
        return list(self.options.betas)

    def transfer_variants(self) -> list[TransferVariant]:
        return [TransferVariant(name="reversed", description="1 - quality", options={"reversed": True})]

    def train(self, objective: Objective, seed: int, beta: float, output_dir: Path, progress) -> None:
        (output_dir / TRAINED_FILE).write_text(json.dumps({"name": objective.name}))

    def score(self, output_dir: Path, seed: int, progress) -> SeedResult:
        name = read_json(output_dir, TRAINED_FILE, Trained).name
        true_quality = 1 - quality(name) if self.options.reversed else quality(name)
        fitness = true_quality + WOBBLE[seed % len(WOBBLE)]
        if name.startswith("lucky") and seed == 0:
            fitness += LUCKY_BOOST
        return SeedResult(seed=seed, fitness=fitness, seconds=0.0)


def quality(name: str) -> float:
    """The quality an objective's name declares (`..._q0.75`, or `..._q0_75` as a proposer's names are
    normalised), else that of a shipped seed."""
    found = re.search(r"_q(\d)[._](\d+)$", name)
    return float(f"{found.group(1)}.{found.group(2)}") if found else SHIPPED_QUALITY


@register
class KeptNoisyEvaluator(NoisyEvaluator):
    name = "noisy_kept"
    description = "test double: the noisy task, with held-out variants that keep its qualities"

    def transfer_variants(self) -> list[TransferVariant]:
        return [
            TransferVariant(name="half_beta", description="half the beta", beta_factor=0.5),
            TransferVariant(name="double_beta", description="twice the beta", beta_factor=2.0),
        ]
