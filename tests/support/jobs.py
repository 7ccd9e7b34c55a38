"""Evaluate through the path a run takes: a worker process, confined training, trusted scoring."""

from pathlib import Path

import torch

from discovery.execution.job import JobSettings
from discovery.execution.local import LocalExecutor
from discovery.fitness import summarise
from discovery.objectives import Objective
from discovery.records import EvaluationResult, TrainingPoint
from evaluators import Evaluator


def evaluate(evaluator: Evaluator, objective: Objective, seeds: list[int], workdir: Path) -> EvaluationResult:
    """The figures of `objective` on `evaluator` (rebuilt in the worker from its options), every seed
    at every beta of its grid."""
    settings = JobSettings.of(evaluator, threads=torch.get_num_threads())
    points = [TrainingPoint(seed=seed, beta=beta) for beta in evaluator.betas() for seed in seeds]
    with LocalExecutor() as executor:
        outcome = executor.evaluate(settings.job(objective, points, workdir))
    assert outcome.trainings is not None, outcome.failure
    return summarise(objective.name, outcome.trainings)
