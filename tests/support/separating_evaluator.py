"""A test double with a task suite of two variants, one that separates objectives and one that
cannot: the noisy task (`noisy_evaluator`: each objective's quality is in its name, `x_q0.8`), and
the same task `flat`, where every objective scores as DPO does (the seed noise alone). An objective
whose name starts with `crash` fails to train."""

from pathlib import Path

from discovery.objectives import Objective
from discovery.records import SeedResult
from discovery.suite import Suite
from evaluators import register
from tests.support.noisy_evaluator import SHIPPED_QUALITY, WOBBLE, NoisyEvaluator, NoisyOptions

SUITE = Suite(
    description="a variant where quality shows, and one where it cannot",
    meta_train={"clear": {}},
    meta_test={"flat": {"flat": True}},
)


class SeparatingOptions(NoisyOptions):
    flat: bool = False  # every objective scores the quality of a shipped one


@register
class SeparatingEvaluator(NoisyEvaluator):
    name = "separating"
    description = "test double: the noisy task, with a suite whose flat variant cannot tell losses apart"
    Options = SeparatingOptions

    def suites(self) -> dict[str, Suite]:
        return {"mixed": SUITE}

    def default_suite(self) -> str | None:
        return "mixed"

    def train(self, objective: Objective, seed: int, beta: float, output_dir: Path, progress) -> None:
        if objective.name.startswith("crash"):
            raise RuntimeError("loss became NaN at step 3")
        super().train(objective, seed, beta, output_dir, progress)

    def score(self, output_dir: Path, seed: int, progress) -> SeedResult:
        if not self.options.flat:
            return super().score(output_dir, seed, progress)
        return SeedResult(seed=seed, fitness=SHIPPED_QUALITY + WOBBLE[seed % len(WOBBLE)], seconds=0.0)
