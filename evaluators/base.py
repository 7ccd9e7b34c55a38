"""The evaluator interface shared by `discover evaluate`, `discover run` and `discover retrain`."""

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from discovery.objectives import Objective
from discovery.progress import Progress, no_progress
from discovery.records import EvaluationResult, SeedResult


class Evaluator(ABC):
    """Build (or load) a task once, then train and score any number of objectives on it.

    Subclasses set `name`, `description` and `Options`, and implement `prepare`, `evaluate_seed`,
    `config` and `figures`. `evaluators.registry.get_evaluator` validates the user's options with
    `Options` (a pydantic model with `extra="forbid"`, every field with a default and a description,
    which `discover evaluators` lists) before anything heavy is built, then constructs the evaluator
    with the validated options and the cache folder the caller chose (evaluators never pick one).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    Options: ClassVar[type[BaseModel]]
    # Bump when the figures change for the same options (e.g. the task is built differently), so that
    # seed scores stored under the old version are not reused.
    version: ClassVar[int] = 0

    def __init__(self, options: BaseModel, cache_dir: Path) -> None:
        self.options = options
        self.cache_dir = Path(cache_dir)

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Every setting that changes the figures; equal configs (and versions) give comparable, and
        reusable, scores."""

    @abstractmethod
    def figures(self) -> dict[str, str]:
        """What each reported figure means, e.g. {"fitness": "win rate of the policy vs the reference"}."""

    @abstractmethod
    def prepare(self, progress: Progress = no_progress) -> None:
        """Build or load everything the task needs (data, reference model, caches). Idempotent."""

    @abstractmethod
    def evaluate_seed(self, objective: Objective, seed: int, progress: Progress = no_progress) -> SeedResult:
        """Train a policy with `objective` from the reference, score it, and return the figures."""

    def evaluate(
        self, objective: Objective, seeds: list[int], progress: Progress = no_progress
    ) -> EvaluationResult:
        """Run `evaluate_seed` for every seed and aggregate."""
        self.prepare(progress)
        results = [self.evaluate_seed(objective, seed, progress) for seed in seeds]
        return EvaluationResult.from_seeds(objective.name, results)
