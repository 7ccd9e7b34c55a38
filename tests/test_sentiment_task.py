"""The sentiment evaluator on its tiny preset: cache building and reuse, training, determinism."""

from pathlib import Path

import pytest

from discovery.errors import UserError
from discovery.objectives import load_objective
from discovery.training import ObjectiveDPOTrainer
from evaluators.registry import get_evaluator
from evaluators.sentiment import SentimentEvaluator, cache


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory: pytest.TempPathFactory) -> SentimentEvaluator:
    task = SentimentEvaluator(preset="tiny", cache_dir=tmp_path_factory.mktemp("cache"))
    task.prepare()
    return task


def test_registered_under_its_name_with_options(tmp_path: Path):
    task = get_evaluator("sentiment", preset="tiny", beta=0.3, cache_dir=tmp_path)
    assert isinstance(task, SentimentEvaluator)
    assert task.config()["beta"] == 0.3 and task.config()["preset"] == "tiny"
    assert task.config() != SentimentEvaluator(preset="tiny").config()
    assert set(task.figures()) == {"fitness", "reward", "kl", "accuracy"}


def test_bad_options_are_user_errors():
    with pytest.raises(UserError, match="preset"):
        SentimentEvaluator(preset="huge")
    with pytest.raises(UserError, match="beta"):
        SentimentEvaluator(beta=0)


def test_cache_dir_defaults_to_runs_cache_or_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("DISCOVER_CACHE", raising=False)
    assert SentimentEvaluator().cache_dir == Path("runs/cache")
    monkeypatch.setenv("DISCOVER_CACHE", str(tmp_path))
    assert SentimentEvaluator().cache_dir == tmp_path


def test_build_writes_one_complete_folder_and_a_second_task_reuses_it(evaluator, monkeypatch):
    folder = evaluator.artefacts.folder
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no staging leftovers
    for name in ("tokenizer", "reference", "train", "heldout.json", "manifest.json"):
        assert (folder / name).exists()
    monkeypatch.setattr(cache, "_build", lambda *args: pytest.fail("the cache was rebuilt"))
    again = SentimentEvaluator(preset="tiny", cache_dir=folder.parent)
    again.prepare()
    assert again.artefacts.folder == folder


def test_an_interrupted_build_leaves_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache, "_precompute_reference_logps", crash)
    with pytest.raises(KeyboardInterrupt):
        SentimentEvaluator(preset="tiny", cache_dir=tmp_path).prepare()
    assert list(tmp_path.iterdir()) == []


def test_candidates_train_without_running_the_reference(evaluator, monkeypatch):
    train_folder = evaluator.artefacts.folder / "train"
    files_before = sorted(p.name for p in train_folder.iterdir())
    calls = []
    original = ObjectiveDPOTrainer.compute_ref_log_probs

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ObjectiveDPOTrainer, "compute_ref_log_probs", counting)
    result = evaluator.evaluate_seed(load_objective("dpo"), seed=0)
    assert calls == []  # every reference log-prob came from the cache built once
    assert sorted(p.name for p in train_folder.iterdir()) == files_before
    assert 0.0 <= result.fitness <= 1.0 and 0.0 <= result.reward <= 1.0
    assert (
        result.kl is not None and result.train_seconds is not None and result.seconds >= result.train_seconds
    )


def test_same_seed_gives_the_same_figures(evaluator):
    first = evaluator.evaluate_seed(load_objective("slic"), seed=1)
    second = evaluator.evaluate_seed(load_objective("slic"), seed=1)
    assert abs(first.fitness - second.fitness) < 0.01
    assert first.kl == pytest.approx(second.kl, abs=1e-3)
