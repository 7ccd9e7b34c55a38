"""`discover evaluate` as a user runs it: JSON figures on stdout, one-line errors with exit code 2,
its jobs side by side on every core with the figures of one job after another."""

import json
from pathlib import Path

import pytest

from discovery.execution.job import JobSettings
from discovery.execution.local import LocalExecutor, default_slots
from discovery.paths import DEFAULT_RUNS_DIR, cache_root
from discovery.records import TrainingPoint
from discovery.resolve import resolve_objective
from evaluators.registry import get_evaluator
from evaluators.sentiment.cache import folder_for
from evaluators.sentiment.settings import PRESETS
from tests.support.commands import discover_subprocess
from tests.support.paced_evaluator import most_at_once, spans

OBJECTIVES = Path(__file__).parent / "objectives"


@pytest.mark.slow
def test_json_run_trains_and_scores_and_prints_only_the_document():
    flipped = str(OBJECTIVES / "flipped_dpo.py")
    done = discover_subprocess(
        "evaluate",
        "dpo",
        flipped,
        "--set",
        "preset=tiny",
        "--set",
        "betas=[0.3, 1.0]",
        "--seeds",
        "2",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # nothing but the document on stdout
    dpo, flipped = document["results"]
    assert (dpo["objective"], flipped["objective"]) == ("dpo", "flipped_dpo")
    for result in (dpo, flipped):
        assert {"fitness", "fitness_se", "reward", "kl", "accuracy", "seconds", "seeds"} <= set(result)
        assert sorted((t["beta"], t["seed"]) for t in result["seeds"]) == [
            (0.3, 0),
            (0.3, 1),
            (1.0, 0),
            (1.0, 1),
        ]
        assert result["best_beta"] in (0.3, 1.0) and [b["beta"] for b in result["betas"]] == [0.3, 1.0]
        assert 0.0 <= result["fitness"] <= 1.0 and result["fitness_se"] >= 0.0


@pytest.mark.slow
def test_table_run_prints_one_row_per_objective_and_reuses_the_reference_log_probs():
    done = discover_subprocess("evaluate", "slic", "--seeds", "1", "--set", "preset=tiny")
    assert done.returncode == 0, done.stderr
    assert "slic" in done.stdout and "fitness" in done.stdout
    # TRL's cached files (EOS added, tokenized, reference log-probs) were written once, by the build;
    # a later process that computed anything again would have added files with new fingerprints
    train = folder_for(cache_root(DEFAULT_RUNS_DIR), PRESETS["tiny"][0]) / "train"
    assert len(list(train.glob("cache-*.arrow"))) == 3


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("missing/objective.py", "missing"),
        ("no-such-objective", "unknown objective"),
        (str(OBJECTIVES / "no_loss.py"), "rejected"),
    ],
)
def test_bad_objectives_get_one_line_and_exit_code_2(argument: str, message: str):
    done = discover_subprocess("evaluate", argument, "--set", "preset=tiny")
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


def test_bad_evaluator_options_get_one_line_before_any_training():
    done = discover_subprocess("evaluate", "dpo", "--set", "preset=tiny", "--set", "epochs=0")
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "error: the sentiment evaluator's option epochs: Input should be greater than 0"
    )


@pytest.mark.skipif(default_slots() < 2, reason="one worker on this machine: nothing runs side by side")
def test_three_objectives_train_side_by_side_on_the_runs_seeds(tmp_path: Path) -> None:
    """One job per objective and seed, a slot per core (as a run has): trainings overlap, and each
    objective gets the run's default seeds (3), in order, whatever finished first."""
    cache = tmp_path / "cache"
    names = ["dpo", "ipo", "slic"]
    done = discover_subprocess(
        "evaluate", *names, "-e", "tests.support.paced_evaluator:paced", "--set", "seconds=1.5", "--json",
        env={"DISCOVER_CACHE": str(cache)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    trained = spans(cache)
    assert sorted((span.objective, span.seed) for span in trained) == [
        (n, s) for n in names for s in range(3)
    ]
    assert 2 <= most_at_once(trained) <= default_slots()
    results = json.loads(done.stdout)["results"]
    assert [result["objective"] for result in results] == names
    assert all([training["seed"] for training in result["seeds"]] == [0, 1, 2] for result in results)


def test_figures_side_by_side_equal_those_of_one_job_after_another(tmp_path: Path) -> None:
    """The same seeds give the figures of the path `evaluate` took before: each objective's every
    (seed, beta) in one job, the objectives one after another on one slot."""
    betas, seeds, names = [0.3, 1.0], [0, 1], ["dpo", "slic"]
    done = discover_subprocess(
        "evaluate", *names, "--set", "preset=tiny", "--set", f"betas={betas}", "--seeds", "0,1", "--json"
    )
    assert done.returncode == 0, done.stderr
    task = get_evaluator("sentiment", {"preset": "tiny", "betas": betas}, cache_root(DEFAULT_RUNS_DIR))
    task.prepare()
    points = [TrainingPoint(seed=seed, beta=beta) for beta in betas for seed in seeds]
    with LocalExecutor(slots=1) as executor:
        before = {
            name: executor.evaluate(
                JobSettings.of(task).job(resolve_objective(name, DEFAULT_RUNS_DIR), points, tmp_path / name)
            ).trainings
            for name in names
        }

    def measured(training: dict) -> dict:
        """What a training measured, its times aside."""
        return {key: value for key, value in training.items() if not key.endswith("seconds")}

    for result in json.loads(done.stdout)["results"]:
        # KL to 1e-6: its sums run in the order of torch's threads, and a job had every core, now one
        expected = [
            measured(training.model_dump()) | {"kl": pytest.approx(training.kl, rel=1e-6)}
            for training in before[result["objective"]] or []
        ]
        assert [measured(training) for training in result["seeds"]] == expected


def test_a_failed_training_is_reported_and_the_others_are_still_scored(tmp_path: Path) -> None:
    crash = tmp_path / "crasher.py"
    crash.write_text(
        '"""Raises in training (the probe evaluator\'s CRASH)."""\n\n\n'
        "def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, "
        "reference_rejected_logps, beta):\n"
        "    return -(policy_chosen_logps - policy_rejected_logps)\n"
    )
    done = discover_subprocess(
        "evaluate", "dpo", str(crash), "-e", "tests.support.probe_evaluator:probe", "--json",
        env={"DISCOVER_CACHE": str(tmp_path / "cache")},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert [result["objective"] for result in document["results"]] == ["dpo"]
    assert document["failures"]["crasher"].startswith("seed 0: training failed: ")
    assert "loss became NaN at step 3" in document["failures"]["crasher"]
    assert "objective 2/2: crasher, 3 trainings" in done.stderr and "crasher failed: seed 0" in done.stderr
