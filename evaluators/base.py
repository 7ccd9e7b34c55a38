"""The evaluator interface shared by `discover evaluate`, `discover run` and `discover retrain`."""

import math
import os
import statistics
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from discovery.objectives import Objective

# progress(phase, fraction): phase is a short label ("reference", "train", "score"); fraction in
# [0, 1] or None when unknown. Evaluators call it often; it must be cheap.
Progress = Callable[[str, float | None], None]


CACHE_ENV = "DISCOVER_CACHE"


def default_cache_dir() -> Path:
    """Where evaluators keep built tasks and judgments: `$DISCOVER_CACHE`, else `runs/cache`."""
    return Path(os.environ.get(CACHE_ENV) or "runs/cache")


class EvaluatorUnavailable(RuntimeError):
    """The evaluator's own infrastructure failed (a judge endpoint is down, say): not the candidate's fault.

    The loop stops the run on it, with the archive intact, instead of recording a failed candidate.
    """


def no_progress(phase: str, fraction: float | None) -> None:
    """A `Progress` that shows nothing."""


class SeedResult(BaseModel):
    """Figures of one training-and-scoring run of one objective with one seed."""

    seed: int
    fitness: float
    reward: float | None = None
    kl: float | None = None
    accuracy: float | None = None
    seconds: float
    train_seconds: float | None = None
    extra: dict[str, float] = Field(default_factory=dict)


class EvaluationResult(BaseModel):
    """Mean and standard error over seeds, plus the per-seed figures."""

    objective: str
    fitness: float
    fitness_se: float
    reward: float | None = None
    kl: float | None = None
    accuracy: float | None = None
    seconds: float
    seeds: list[SeedResult]

    @classmethod
    def from_seeds(cls, objective: str, seeds: list[SeedResult]) -> "EvaluationResult":
        """Aggregate per-seed figures; the standard error is 0 for a single seed."""
        if not seeds:
            raise ValueError("at least one seed result is needed")

        def mean(name: str) -> float | None:
            values = [getattr(s, name) for s in seeds if getattr(s, name) is not None]
            return statistics.fmean(values) if values else None

        fitnesses = [s.fitness for s in seeds]
        se = statistics.stdev(fitnesses) / math.sqrt(len(fitnesses)) if len(fitnesses) > 1 else 0.0
        return cls(
            objective=objective,
            fitness=statistics.fmean(fitnesses),
            fitness_se=se,
            reward=mean("reward"),
            kl=mean("kl"),
            accuracy=mean("accuracy"),
            seconds=sum(s.seconds for s in seeds),
            seeds=seeds,
        )


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
