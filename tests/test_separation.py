"""`discover separation`: each objective at its own best beta, paired with DPO at DPO's, and a
variant flagged when no objective beats DPO by more than seed noise."""

import json
from pathlib import Path

import pytest

import tests.support.separating_evaluator  # noqa: F401  (registers the "separating" evaluator)
from discovery.fitness import summarise
from discovery.objectives.objective import shipped_names
from discovery.records import SeedResult
from discovery.separation import best_beta, lowest_p_value, separation
from tests.support.commands import discover_cli_runner
from tests.support.inline_executor import InlineExecutor
from tests.support.objective_sources import SMOOTH_HINGE
from tests.support.stub_work import StubValidator

EVALUATOR = "tests.support.separating_evaluator:separating"


def trainings(by_beta: dict[float, list[float]]) -> list[SeedResult]:
    """Trainings with these fitnesses, seed 0 first, at each beta."""
    return [
        SeedResult(seed=seed, beta=beta, fitness=fitness, seconds=0.0)
        for beta, fitnesses in by_beta.items()
        for seed, fitness in enumerate(fitnesses)
    ]


def test_the_best_beta_is_the_highest_mean_not_the_safest() -> None:
    steady, erratic = [0.5] * 4, [0.9, 0.2, 0.9, 0.2]  # means 0.5 and 0.55; the second's interval is wide
    runs = trainings({0.1: steady, 1.0: erratic})
    assert best_beta(runs) == 1.0
    assert summarise("x", runs).best_beta == 0.1  # the search ranks by the interval's lower end
    assert best_beta(trainings({0.3: [0.5], 1.0: [0.5]})) == 0.3  # a tie: the smaller beta


def test_each_objective_is_paired_at_its_best_beta_with_the_baseline_at_its_own() -> None:
    baseline = trainings({0.1: [0.6] * 6, 1.0: [0.3] * 6})  # its best: 0.1
    mixed = trainings({0.1: [0.1] * 6, 1.0: [0.7] * 5 + [0.5]})  # its best: 1.0; five seeds up, one down
    better = trainings({0.1: [0.7] * 6, 1.0: [0.2] * 6})  # every seed up
    found = separation("clear", "meta-train", {"dpo": baseline, "mixed": mixed, "better": better}, "dpo")

    assert [figures.objective for figures in found.objectives] == ["better", "mixed", "dpo"]
    better_figures, mixed_figures, dpo_figures = found.objectives
    assert (mixed_figures.beta, mixed_figures.pairs) == (1.0, 6)
    assert mixed_figures.difference == pytest.approx(0.4 / 6)  # against 0.6, not 0.3
    # |sum| >= 0.4 in 14 of the 64 sign patterns: those with at most one, or at least five, minus
    assert mixed_figures.p_value == 14 / 64 and not mixed_figures.beats_baseline
    assert better_figures.p_value == 2 / 64 and better_figures.beats_baseline
    assert dpo_figures.is_baseline and dpo_figures.difference == 0 and not dpo_figures.beats_baseline
    assert mixed_figures.low < mixed_figures.fitness < mixed_figures.high
    assert found.separates and found.verdict() == "separates: better +0.100 (p 0.031)"


def test_fewer_than_six_seeds_can_never_separate() -> None:
    baseline, better = trainings({0.1: [0.5] * 5}), trainings({0.1: [0.9] * 5})
    found = separation("clear", "meta-train", {"dpo": baseline, "better": better}, "dpo")
    assert found.objectives[0].p_value == lowest_p_value(5) == 2 / 32
    assert not found.separates
    assert found.verdict() == "DOES NOT SEPARATE: no objective beats dpo at p < 0.05"
    assert lowest_p_value(6) < 0.05 < lowest_p_value(5)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with objective files (quality in their names), the cache in it, the trainings in
    this process, and only the sandbox's static gate (`discover evaluate`'s tests run the whole)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCOVER_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    monkeypatch.setattr("discovery.execution.local.LocalExecutor", InlineExecutor)
    monkeypatch.setattr("discovery.sandbox.Validator", StubValidator)
    for name in ("x_q0.8", "crash_q0.7"):
        (tmp_path / f"{name}.py").write_text(SMOOTH_HINGE)
    return tmp_path


def separation_command(*args: str):
    return discover_cli_runner("separation", "-e", EVALUATOR, "--runs-dir", "runs", *args)


def test_a_variant_that_separates_and_one_that_does_not(workspace: Path) -> None:
    done = separation_command("x_q0.8.py", "--json")  # the baseline is added
    assert done.exit_code == 0, done.output
    variants = {variant["variant"]: variant for variant in json.loads(done.stdout)["variants"]}
    assert [(name, v["role"], v["separates"]) for name, v in variants.items()] == [
        ("clear", "meta-train", True),
        ("flat", "meta-test", False),
    ]
    better, dpo = variants["clear"]["objectives"]
    assert (better["objective"], dpo["objective"], dpo["is_baseline"]) == ("x_q0.8", "dpo", True)
    assert better["difference"] == pytest.approx(0.2) and better["p_value"] == 2 / 64
    assert variants["flat"]["verdict"] == "DOES NOT SEPARATE: no objective beats dpo at p < 0.05"
    assert "objective 4/4: x_q0.8 on flat, 6 trainings" in done.stderr  # a line per job's phase

    shown = separation_command("dpo", "x_q0.8.py")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert "separates: x_q0.8 +0.200 (p 0.031)" in lines
    assert "note: with 6 seeds no p-value is below 2/2**6 = 0.031" in lines
    assert lines[-2:] == [
        "clear (meta-train): separates: x_q0.8 +0.200 (p 0.031)",
        "flat (meta-test): DOES NOT SEPARATE: no objective beats dpo at p < 0.05",
    ]


def test_too_few_seeds_are_warned_of_and_separate_nothing(workspace: Path) -> None:
    done = separation_command("x_q0.8.py", "--variant", "clear", "--seeds", "3", "--json")
    assert done.exit_code == 0, done.output
    assert "warning: with 3 seeds no p-value is below 0.25" in done.stderr
    (variant,) = json.loads(done.stdout)["variants"]
    assert variant["variant"] == "clear" and not variant["separates"]


def test_without_objectives_every_shipped_one_is_measured(workspace: Path) -> None:
    done = separation_command("--variant", "flat", "--seeds", "1", "--json")
    assert done.exit_code == 0, done.output
    (variant,) = json.loads(done.stdout)["variants"]
    assert sorted(o["objective"] for o in variant["objectives"]) == sorted(shipped_names())


def test_a_suite_from_a_file_and_the_task_alone(workspace: Path) -> None:
    (workspace / "suite.yaml").write_text("meta_train:\n  plain: {}\nmeta_test:\n  level: {flat: true}\n")
    done = separation_command("x_q0.8.py", "--suite", "suite.yaml", "--json")
    assert done.exit_code == 0, done.output
    found = [(v["variant"], v["role"], v["separates"]) for v in json.loads(done.stdout)["variants"]]
    assert found == [("plain", "meta-train", True), ("level", "meta-test", False)]

    alone = separation_command("x_q0.8.py", "--suite", "single", "--json")
    assert alone.exit_code == 0, alone.output
    found = [(v["variant"], v["role"], v["separates"]) for v in json.loads(alone.stdout)["variants"]]
    assert found == [("separating", "task", True)]


def test_a_failed_training_exits_1_and_the_rest_is_measured(workspace: Path) -> None:
    done = separation_command("x_q0.8.py", "crash_q0.7.py", "--variant", "clear", "--json")
    assert done.exit_code == 1, done.output
    (variant,) = json.loads(done.stdout)["variants"]
    assert variant["separates"] and [o["objective"] for o in variant["objectives"]] == ["x_q0.8", "dpo"]
    assert variant["failures"]["crash_q0.7"].startswith("seed 0: training failed: loss became NaN")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--suite", "nope"], "the separating evaluator has no suite 'nope' (choose one of: mixed, default"),
        (["--suite", "missing.yaml"], "cannot read suite file missing.yaml: No such file or directory"),
        (["--suite", "bad.yaml"], "suite file bad.yaml: meta_train: Field required"),
        (["--variant", "nope"], "the suite has no variant 'nope' (its variants: clear, flat)"),
        (["--suite", "single", "--variant", "clear"], "no variant 'clear' (its variants: separating)"),
        (["--set", "flat=maybe"], "the separating evaluator's option flat: Input should be a valid boolean"),
    ],
)
def test_a_bad_suite_or_variant_is_one_line(workspace: Path, args: list[str], message: str) -> None:
    (workspace / "bad.yaml").write_text("meta_test:\n  flat: {flat: true}\n")
    done = separation_command("x_q0.8.py", *args)
    assert (done.exit_code, done.stderr.count("\n")) == (2, 1), done.stderr
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert done.stdout == ""
