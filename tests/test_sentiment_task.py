"""The sentiment evaluator on its tiny preset: cache building and reuse, training, determinism."""

from pathlib import Path

import pytest
import torch

from discovery.errors import UserError
from discovery.execution.job import JobSettings
from discovery.execution.local import LocalExecutor
from discovery.objectives import load_objective
from discovery.progress import no_progress
from discovery.records import SeedResult, TrainingPoint
from discovery.training import ObjectiveDPOTrainer
from evaluators.registry import get_evaluator
from evaluators.sentiment import SentimentEvaluator, cache
from evaluators.sentiment.settings import PRESETS, TrainSettings


def tiny(cache_dir: Path, **options) -> SentimentEvaluator:
    return get_evaluator("sentiment", {"preset": "tiny", **options}, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory: pytest.TempPathFactory) -> SentimentEvaluator:
    task = tiny(tmp_path_factory.mktemp("cache"))
    task.prepare()
    return task


def test_registered_under_its_name_with_options(tmp_path: Path):
    task = tiny(tmp_path, learning_rate=0.003)
    assert isinstance(task, SentimentEvaluator) and task.cache_dir == tmp_path
    assert task.config()["learning_rate"] == 0.003 and task.config()["preset"] == "tiny"
    assert task.config() != tiny(tmp_path).config()
    assert set(task.figures()) == {"fitness", "reward", "kl", "accuracy", "collapsed"}


def test_the_preset_gives_the_base_values_and_set_options_replace_them(tmp_path: Path):
    task = tiny(tmp_path, learning_rate=0.01, heldout_pairs=8)
    assert task.train_settings == TrainSettings(learning_rate=0.01, epochs=1, batch_pairs=16)
    assert task.task == PRESETS["tiny"][0].model_copy(update={"heldout_pairs": 8})
    default = get_evaluator("sentiment", {}, cache_dir=tmp_path)
    assert (default.task, default.train_settings) == PRESETS["default"]


def test_the_same_settings_name_the_same_cache_folder_as_before(tmp_path: Path):
    """The digest names the folder of artefacts built earlier, which a new version must find again;
    these change only when BUILD_VERSION is bumped on purpose."""
    assert get_evaluator("sentiment", {}, cache_dir=tmp_path).task.digest() == "1d9d598a4e41"
    assert tiny(tmp_path).task.digest() == "fef56cc988ae"
    assert tiny(tmp_path, sft_lr=1, layers=3).task.digest() == "ee5c5ae89ebf"


@pytest.mark.parametrize(
    ("written", "grid"), [(0.3, (0.3,)), ("0.1, 0.3", (0.1, 0.3)), ([0.1, 1], (0.1, 1.0))]
)
def test_a_beta_grid_is_one_value_a_comma_list_or_a_list(tmp_path: Path, written: object, grid: tuple):
    """`--set betas=0.3` means the grid [0.3], as a user would expect, not a type error."""
    assert tiny(tmp_path, betas=written).train_settings.betas == grid


def test_the_configuration_names_exactly_the_options(tmp_path: Path):
    """What the dry run shows (the configuration) is what `--set` accepts, name for name."""
    assert list(tiny(tmp_path).config()) == list(SentimentEvaluator.Options.model_fields)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"preset": "huge"}, "the sentiment evaluator's option preset: Input should be 'default' or 'tiny'"),
        (
            {"learning_rate": 0},
            "the sentiment evaluator's option learning_rate: Input should be greater than 0",
        ),
        ({"betas": "abc"}, "the sentiment evaluator's option betas.0: Input should be a valid number"),
        ({"betas": [0.1, 0.1]}, "the sentiment evaluator's options: betas must be distinct positive numbers"),
        ({"heads": 3}, "the sentiment evaluator's options: heads (3) must divide hidden_size (64)"),
        ({"bogus": 1}, "the sentiment evaluator has no option bogus (its options: preset, data_seed,"),
    ],
)
def test_bad_options_are_one_line_user_errors(tmp_path: Path, options: dict, message: str):
    with pytest.raises(UserError) as raised:
        get_evaluator("sentiment", options, cache_dir=tmp_path)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_build_writes_one_complete_folder_and_a_second_task_reuses_it(evaluator, monkeypatch):
    folder = evaluator.artefacts.folder
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no staging leftovers
    for name in ("tokenizer", "reference", "train", "heldout.json", "manifest.json"):
        assert (folder / name).exists()
    monkeypatch.setattr(cache, "_build", lambda *args: pytest.fail("the cache was rebuilt"))
    again = tiny(folder.parent)
    again.prepare()
    assert again.artefacts.folder == folder


def test_an_interrupted_build_leaves_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache, "_precompute_reference_logps", crash)
    with pytest.raises(KeyboardInterrupt):
        tiny(tmp_path).prepare()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_candidates_train_without_running_the_reference(evaluator, monkeypatch, tmp_path):
    train_folder = evaluator.artefacts.folder / "train"
    files_before = sorted(p.name for p in train_folder.iterdir())
    calls = []
    original = ObjectiveDPOTrainer.compute_ref_log_probs

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ObjectiveDPOTrainer, "compute_ref_log_probs", counting)
    result = train_and_score(evaluator, "dpo", 0, tmp_path)
    assert calls == []  # every reference log-prob came from the cache built once
    assert sorted(p.name for p in train_folder.iterdir()) == files_before
    assert 0.0 <= result.fitness <= 1.0 and 0.0 <= result.reward <= 1.0
    assert (
        result.kl is not None and result.train_seconds is not None and result.seconds >= result.train_seconds
    )


@pytest.mark.slow
def test_same_seed_gives_the_same_figures(evaluator, tmp_path):
    first = train_and_score(evaluator, "slic", 1, tmp_path / "first")
    second = train_and_score(evaluator, "slic", 1, tmp_path / "second")
    assert (first.fitness, first.reward, first.kl, first.accuracy) == (
        second.fitness,
        second.reward,
        second.kl,
        second.accuracy,
    )


@pytest.mark.slow
def test_a_confined_candidate_gets_the_figures_of_an_in_process_one(evaluator, tmp_path):
    """Confinement changes where training runs, not what it computes: same seed, same figures."""
    here = train_and_score(evaluator, "dpo", 2, tmp_path / "here")
    settings = JobSettings.of(evaluator, threads=torch.get_num_threads())
    with LocalExecutor() as executor:
        point = TrainingPoint(seed=2, beta=evaluator.betas()[0])
        outcome = executor.evaluate(settings.job(load_objective("dpo"), [point], tmp_path / "job"))
    assert outcome.failure is None and outcome.isolation["filesystem_jail"]
    (confined,) = outcome.trainings
    assert (confined.fitness, confined.reward, confined.kl, confined.accuracy) == (
        here.fitness,
        here.reward,
        here.kl,
        here.accuracy,
    )


def train_and_score(evaluator: SentimentEvaluator, name: str, seed: int, folder: Path) -> SeedResult:
    """Both halves in this process (a shipped, trusted objective): the reference for the confined path."""
    folder.mkdir(parents=True, exist_ok=True)
    evaluator.train(load_objective(name), seed, evaluator.betas()[0], folder, no_progress)
    return evaluator.score(folder, seed, no_progress)


def test_a_samples_log_prob_is_the_one_a_scoring_pass_computes(evaluator):
    """The KL estimate takes the policy's log-probs of its samples from the sampling itself; they
    must be those of a separate forward pass over the same completions."""
    from evaluators.sentiment.sampling import completion_logps, sample

    artefacts = evaluator.artefacts
    prompts = artefacts.heldout.prompts
    completions = sample(artefacts.reference, artefacts.tokenizer, prompts, evaluator.task.max_new_tokens, 3)
    scored = completion_logps(artefacts.reference, artefacts.tokenizer, prompts, [c.ids for c in completions])
    sampled = torch.tensor([c.logp for c in completions], dtype=torch.float64)
    assert any(c.ids[-1] == artefacts.tokenizer.eos_token_id for c in completions)  # some ended early
    torch.testing.assert_close(sampled, scored, rtol=1e-5, atol=1e-4)
