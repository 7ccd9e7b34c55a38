"""A run's configuration: defaults, then the YAML file, then the command line, merged key by key."""

from pathlib import Path

import pytest
import yaml

from discovery.config import RunConfig, build_config, load_config_file
from discovery.errors import UserError
from discovery.options import parse_options, reject_non_finite


def config_from(tmp_path: Path, text: str, **overrides) -> RunConfig:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return build_config(load_config_file(path), overrides)


def test_set_replaces_one_evaluator_option_and_keeps_the_files_others(tmp_path: Path) -> None:
    text = "evaluator_options: {preset: tiny, learning_rate: 0.5}\n"
    config = config_from(tmp_path, text, evaluator_options=parse_options(["learning_rate=0.3"]))
    assert config.evaluator_options == {"preset": "tiny", "learning_rate": 0.3}


def test_nested_options_merge_at_every_level(tmp_path: Path) -> None:
    text = "evaluator: mtbench\nevaluator_options:\n  recipe_set: {beta: 0.1, learning_rate: 1.0e-6}\n"
    config = config_from(
        tmp_path, text, evaluator_options=parse_options(["recipe_set={beta: 0.2}", "max_steps=5"])
    )
    assert config.evaluator_options == {"recipe_set": {"beta": 0.2, "learning_rate": 1e-6}, "max_steps": 5}


def test_command_line_values_replace_the_files_and_the_rest_keep_theirs(tmp_path: Path) -> None:
    config = config_from(tmp_path, "generations: 3\npopulation: 2\n", generations=7, population=None)
    assert (config.generations, config.population, config.seeds) == (7, 2, 3)


def test_keys_take_dashes_or_underscores_and_seed_objectives_a_list_or_a_comma_string(tmp_path: Path) -> None:
    text = "context-best: 3\ncontext_recent: 2\nrandom-seed: 9\nseed-objectives: dpo, slic\n"
    text += "evaluator_options: {max-steps: 4}\n"
    config = config_from(tmp_path, text)
    assert (config.context_best, config.context_recent, config.random_seed) == (3, 2, 9)
    assert config.seed_objectives == ["dpo", "slic"]
    assert config.evaluator_options == {"max_steps": 4}
    assert config_from(tmp_path, "seed_objectives: [ipo]\n").seed_objectives == ["ipo"]
    assert build_config({}, {"seed_objectives": "dpo,kto"}).seed_objectives == ["dpo", "kto"]


def test_every_option_of_a_run_has_a_yaml_key_of_the_same_name(tmp_path: Path) -> None:
    """A dumped configuration reads back as itself: no field is command-line only."""
    config = RunConfig(generations=2, context_best=1, max_reply_bytes=4096, evaluator_options={"beta": 0.2})
    assert config_from(tmp_path, yaml.safe_dump(config.model_dump(mode="json"))) == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("judge-model: gpt-4o\n", "judge_model is not an option of discover run"),
        ("generations: many\n", "invalid generations: Input should be a valid integer"),
        ("context_best: -1\n", "invalid context_best: Input should be greater than or equal to 0"),
        ("evaluator_options: [beta]\n", "invalid evaluator_options: Input should be a valid dictionary"),
        ("- generations\n", "must be a mapping of option: value"),
        ("generations: 1000000\n", "invalid generations: Input should be less than or equal to 100000"),
        ("request_timeout: .inf\n", "invalid request_timeout: Input should be less than or equal to"),
        ("base_url: localhost:8080\n", "'localhost:8080' is not an http:// or https:// URL with a host"),
        ("seed_objectives: [dpo, sigmoid]\n", "invalid seed_objectives: dpo named more than once"),
        ("seed_objectives: [dpo, my_loss.py]\n", "my_loss.py: seeds are shipped objectives (dpo, slic"),
        ("seed_objectives: []\n", "name at least one shipped objective"),
        ("evaluator_options: {beta: &b 1, lr: *b}\n", "aliases (*name) are not accepted"),
        ("generations: " + "[" * 2000 + "\n", "is not valid YAML: it is nested too deeply"),
    ],
)
def test_mistakes_in_the_file_are_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError) as raised:
        config_from(tmp_path, text)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_seed_objectives_are_stored_by_their_canonical_names() -> None:
    assert build_config({}, {"seed_objectives": "DPO, hinge,discopop"}).seed_objectives == [
        "dpo",
        "slic",
        "discopop",
    ]


def test_a_run_is_seeded_with_the_papers_objectives_unless_it_names_others() -> None:
    """TRL's loss types are shipped for comparison: a default run does not pay for their trainings."""
    paper = ["dpo", "slic", "ipo", "kto", "discopop", "padll", "aqfl", "aql", "cell", "dbaql", "pfl"]
    assert RunConfig().seed_objective_names == paper
    named = build_config({}, {"seed_objectives": "robust,slic"})
    assert named.seed_objective_names == ["dpo", "rdpo", "slic"]  # the baseline first, named or not
    baseline = build_config({"racing": {"baseline": "nca_pair"}}, {})
    assert baseline.seed_objective_names == ["nca", *paper]


def test_options_hold_only_finite_numbers() -> None:
    reject_non_finite({"beta": 0.1, "recipe_set": {"lr": [1e-6, 2.0]}}, "option ")
    with pytest.raises(UserError, match=r"option recipe_set\.lr\.1: must be a finite number, got -inf"):
        reject_non_finite({"recipe_set": {"lr": [1e-6, float("-inf")]}}, "option ")


def test_an_ensemble_names_each_model_once_and_not_beside_model() -> None:
    ensemble = build_config({}, {"models": ["qwen@http://localhost:8000/v1", "gpt-4.1"]})
    assert [(m.model, m.base_url) for m in ensemble.models] == [
        ("qwen", "http://localhost:8000/v1"),
        ("gpt-4.1", None),
    ]
    with pytest.raises(UserError, match="qwen named more than once"):
        build_config({}, {"models": ["qwen@http://a:8000/v1", "qwen@http://b:8000/v1"]})
    with pytest.raises(UserError, match="with model or with models, not both"):
        build_config({}, {"models": ["qwen"], "model": "gpt-4.1"})
