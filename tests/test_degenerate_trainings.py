"""A real tiny training of a candidate that skews its figures without escaping: the trusted figures
name what happened (`EvaluationResult.degenerate`), beside the low fitness."""

from pathlib import Path

import pytest

from discovery.fitness import summarise
from discovery.objectives import Objective
from discovery.progress import no_progress
from evaluators.registry import get_evaluator
from evaluators.sentiment import SentimentEvaluator

CLAIMS = Path(__file__).parent / "claims"


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory: pytest.TempPathFactory) -> SentimentEvaluator:
    task = get_evaluator("sentiment", {"preset": "tiny"}, cache_dir=tmp_path_factory.mktemp("cache"))
    task.prepare()
    return task


@pytest.mark.slow  # a real training of the tiny task
def test_a_loss_without_gradient_at_the_training_size_is_named_no_change(evaluator, tmp_path):
    path = CLAIMS / "no_gradient_at_training_size.py"
    objective = Objective(name=path.stem, source=path.read_text(), origin=str(path))
    evaluator.train(objective, 0, evaluator.betas()[0], tmp_path, no_progress)
    training = evaluator.score(tmp_path, 0, no_progress)
    assert training.unchanged_fitness is not None  # the evaluator reports it with every training
    assert summarise(path.stem, [training]).degenerate == "no change from the reference (KL ≈ 0)"
