"""Choosing and defining a task suite: what a user can name or write, and the one-line refusals."""

import pytest
from pydantic import ValidationError

import tests.support.noisy_evaluator  # noqa: F401  (registers the "noisy" evaluator)
from discovery.errors import UserError
from discovery.records import SeedResult
from discovery.suite import Suite
from evaluators.suite import mean_result, run_task
from tests.support.commands import discover_cli_runner


def test_the_sentiment_default_is_its_headroom_suite_and_tiny_trains_its_task_alone(tmp_path):
    default = run_task("sentiment", {}, "default", tmp_path)
    assert default.suite is not None and default.search.name == "suite"
    assert set(default.search.members) == set(default.suite.meta_train)
    assert [v.name for v in default.held_out] == list(default.suite.meta_test)
    tiny = run_task("sentiment", {"preset": "tiny"}, "default", tmp_path)
    assert tiny.suite is None and tiny.search.name == "sentiment"
    assert [v.name for v in tiny.held_out] == ["data", "model", "beta"]  # the task's own variants
    single = run_task("sentiment", {}, "single", tmp_path)
    assert single.suite is None and single.search.name == "sentiment"


def test_a_variant_changes_the_runs_options_and_the_run_options_reach_every_variant(tmp_path):
    suite = Suite(
        meta_train={"noisy": {"label_noise": 0.2}, "plain": {}}, meta_test={"other": {"data_seed": 7}}
    )
    task = run_task("sentiment", {"preset": "tiny", "epochs": 2}, suite, tmp_path)
    noisy, plain = task.search.members["noisy"], task.search.members["plain"]
    assert noisy.task.label_noise == 0.2 and plain.task.label_noise == 0.0
    assert noisy.train_settings.epochs == plain.train_settings.epochs == 2
    assert task.held_out[0].options == {"data_seed": 7}  # on top of the run's options, at confirmation


def test_unknown_suites_bad_variant_options_and_split_grids_are_one_line(tmp_path):
    with pytest.raises(UserError, match="has no suite 'nope' \\(choose one of: headroom, default, single\\)"):
        run_task("sentiment", {}, "nope", tmp_path)
    bad = Suite(meta_train={"broken": {"no_such_option": 1}})
    with pytest.raises(UserError, match="suite variant broken: the sentiment evaluator has no option"):
        run_task("sentiment", {"preset": "tiny"}, bad, tmp_path)
    split = Suite(meta_train={"a": {"betas": [0.1]}, "b": {"betas": [0.3]}})
    with pytest.raises(UserError, match="must share the beta grid"):
        run_task("noisy", {}, split, tmp_path)


def test_a_suite_definition_is_checked_before_anything_is_built():
    with pytest.raises(ValidationError, match="both a meta-train and a meta-test variant"):
        Suite(meta_train={"a": {}}, meta_test={"a": {}})
    with pytest.raises(ValidationError, match="lower-case letters"):
        Suite(meta_train={"../escape": {}})
    with pytest.raises(ValidationError):
        Suite(meta_train={})


def test_a_seeds_figures_are_the_means_over_the_variants_and_each_variant_is_kept():
    scored = {
        "a": SeedResult(seed=1, fitness=0.6, kl=2.0, seconds=3.0, train_seconds=2.0),
        "b": SeedResult(seed=1, fitness=0.8, kl=4.0, seconds=5.0, train_seconds=4.0, collapsed=True),
    }
    mean = mean_result(1, scored)
    assert mean.fitness == pytest.approx(0.7) and mean.kl == pytest.approx(3.0)
    assert mean.seconds == 8.0 and mean.train_seconds == 6.0 and mean.collapsed
    assert mean.extra == {"a.fitness": 0.6, "a.kl": 2.0, "b.fitness": 0.8, "b.kl": 4.0}


def test_discover_evaluators_lists_the_shipped_suites(tmp_path):
    listed = discover_cli_runner("evaluators", "sentiment")
    assert listed.exit_code == 0, listed.output
    assert "Suite headroom (the default)" in " ".join(listed.stdout.split())


def test_a_run_config_names_a_suite_or_defines_one(tmp_path):
    config_file = tmp_path / "run.yaml"
    config_file.write_text(
        "suite:\n  meta_train:\n    noisy: {label_noise: 0.2}\n  meta_test:\n    other: {}\n"
    )
    shown = discover_cli_runner(
        "run", "--config", str(config_file), "--dry-run", "--json", "--runs-dir", str(tmp_path)
    )
    assert shown.exit_code == 0, shown.output
    assert '"noisy"' in shown.stdout and '"other"' in shown.stdout
    unknown = discover_cli_runner("run", "--suite", "nope", "--dry-run", "--runs-dir", str(tmp_path))
    assert unknown.exit_code == 2 and "has no suite 'nope'" in unknown.output
