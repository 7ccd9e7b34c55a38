"""`discover evaluate` as a user runs it: JSON figures on stdout, one-line errors with exit code 2."""

import json
from pathlib import Path

import pytest

from discovery.paths import DEFAULT_RUNS_DIR, cache_root
from evaluators.sentiment.cache import folder_for
from evaluators.sentiment.settings import PRESETS
from tests.support.commands import discover_subprocess

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
    done = discover_subprocess("evaluate", "slic", "--set", "preset=tiny")
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
