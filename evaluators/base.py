"""The evaluator interface shared by `discover evaluate`, `discover run` and `discover retrain`."""

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from discovery.objectives import Objective
from discovery.progress import Progress, no_progress
from discovery.records import EvaluationResult, SeedResult


class Evaluator(ABC):
    """Build (or load) a task once, then train and score any number of objectives on it.

    Subclasses set `name` and `description`, take their options as constructor keywords, and
    implement `prepare`, `evaluate_seed`, `config` and `figures`.
    """

    name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Every setting that changes the figures; equal configs give comparable (and reusable) scores."""

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
