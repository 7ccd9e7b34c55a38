"""Evaluate through the path a run takes: a worker process, confined training, trusted scoring."""

from pathlib import Path

import torch

from discovery.execution.job import JobSettings
from discovery.execution.local import LocalExecutor
from discovery.objectives import Objective
from discovery.records import EvaluationResult
from evaluators import Evaluator


def evaluate(evaluator: Evaluator, objective: Objective, seeds: list[int], workdir: Path) -> EvaluationResult:
    """The figures of `objective` on `evaluator` (rebuilt in the worker from its options)."""
    settings = JobSettings.of(evaluator, threads=torch.get_num_threads())
    with LocalExecutor() as executor:
        outcome = executor.evaluate(settings.job(objective, seeds, workdir))
    assert outcome.result is not None, outcome.failure
    return outcome.result
