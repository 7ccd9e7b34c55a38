"""`discover retrain --dry-run`: the paper's figures, the batch arithmetic and one-line errors."""

import importlib.util
import json
from pathlib import Path

import pytest

from discovery.archive import ARCHIVE_FILE, Archive
from discovery.errors import UserError
from discovery.fitness import summarise
from discovery.options import parse_options
from discovery.records import SeedResult
from discovery.retrain.data import load_split
from discovery.retrain.launch import check_machine, check_sources, train_and_record
from discovery.retrain.plan import keep_total_batch, make_plan
from discovery.retrain.recipe import load_recipe
from discovery.training.truncation import truncate_pair
from tests.support.archive_factory import build_run
from tests.support.commands import discover_subprocess
from tests.support.objective_sources import objective


def _plan(tmp_path, *args: str) -> dict:
    finished = discover_subprocess(
        "retrain", "discopop", "--dry-run", "--json", "--runs-dir", str(tmp_path), *args
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


def _one_line_error(*args: str) -> str:
    finished = discover_subprocess("retrain", *args)
    assert finished.returncode == 2, finished.stdout + finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), finished.stderr
    return lines[0]


def test_dry_run_reports_the_paper_recipe(tmp_path):
    plan = _plan(tmp_path)
    arguments = plan["training_arguments"]
    assert arguments["beta"] == 0.05
    assert arguments["learning_rate"] == 5e-7
    assert arguments["num_train_epochs"] == 2
    assert arguments["lr_scheduler_type"] == "cosine"
    assert arguments["precompute_ref_log_probs"] is True
    assert plan["recipe"]["max_prompt_length"] == 512 and arguments["max_length"] == 1024
    batch = plan["batch"]
    assert (batch["per_device"], batch["accumulation"], batch["num_gpus"], batch["total"]) == (2, 8, 8, 128)
    # 6750 train rows (dataset card): ceil(ceil(6750 / 2) / 8) = 422 batches per GPU, 53 steps per epoch
    assert plan["steps"]["train_rows"] == 6750
    assert plan["steps"]["optimizer_steps"] == 106
    assert plan["steps"]["warmup_steps"] == 11
    deepspeed = plan["launch"]["deepspeed_config"]
    assert deepspeed["zero_optimization"]["stage"] == 3
    assert deepspeed["train_batch_size"] == 128 and deepspeed["gradient_accumulation_steps"] == 8
    command = plan["launch"]["command"]
    assert command[command.index("--num_processes") + 1] == "8"
    assert plan["objective"]["name"] == "discopop" and len(plan["objective"]["code_hash"]) == 16
    assert plan["validation"]["ok"] is True


def test_four_gpus_double_the_accumulation_and_say_so():
    recipe, origin = load_recipe()
    plan = make_plan("discopop", recipe, origin, overrides={}, num_gpus=4)
    assert plan.batch.accumulation == 16 and plan.batch.total == 128
    assert "8 -> 16" in plan.batch.note
    assert plan.training_arguments["gradient_accumulation_steps"] == 16
    assert plan.launch.deepspeed_config["gradient_accumulation_steps"] == 16
    assert plan.launch.accelerate_config["num_processes"] == 4
    assert plan.steps.optimizer_steps == 106  # ceil(ceil(6750 / 2) / 4) = 844 batches, 53 steps per epoch
    # on this machine (no GPU) a real run needs --num-gpus 1; on GPUs the count must be there
    with pytest.raises(UserError, match="--num-gpus 1"):
        check_machine(plan, gpus_here=0, has_deepspeed=False)
    with pytest.raises(UserError, match="--num-gpus 2"):
        check_machine(plan, gpus_here=2, has_deepspeed=True)
    with pytest.raises(UserError, match="deepspeed"):
        check_machine(plan, gpus_here=4, has_deepspeed=False)


def test_a_total_batch_that_cannot_be_kept_is_an_error():
    line = _one_line_error("discopop", "--dry-run", "--num-gpus", "3")
    assert "total batch 128" in line and "3 GPU" in line


def test_unknown_recipe_and_bad_set_are_one_line_errors():
    assert "unknown recipe 'nope'" in _one_line_error("discopop", "--recipe", "nope", "--dry-run")
    assert "not_a_field" in _one_line_error("discopop", "--set", "not_a_field=1", "--dry-run")


def test_hub_failures_say_what_to_download_and_which_option_to_use(tmp_path):
    recipe, origin = load_recipe()
    plan = make_plan("discopop", recipe, origin, overrides={}, num_gpus=1, output_dir=str(tmp_path))
    with pytest.raises(UserError, match=r"hf download HuggingFaceH4/zephyr-7b-gemma-sft-v0.1 .*--model"):
        check_sources(plan)
    with pytest.raises(UserError, match=r"hf download argilla/dpo-mix-7k --repo-type dataset .*--dataset"):
        load_split("argilla/dpo-mix-7k", None, "train")


def test_overrides_are_typed_and_checked():
    recipe, _ = load_recipe(overrides=parse_options(["learning_rate=1e-6", "beta=0.1", "report_to=wandb"]))
    assert recipe.learning_rate == 1e-6 and recipe.beta == 0.1
    assert recipe.training_arguments()["report_to"] == "wandb"
    with pytest.raises(UserError, match="key=value"):
        parse_options(["beta"])
    with pytest.raises(UserError, match="learning_rate"):
        load_recipe(overrides={"learning_rate": "fast"})
    with pytest.raises(UserError, match="max_prompt_length"):
        load_recipe(overrides={"max_prompt_length": 2048})


def test_accumulation_is_kept_exact():
    recipe, _ = load_recipe()
    assert keep_total_batch(recipe, 16).accumulation == 4
    assert keep_total_batch(recipe, 1).accumulation == 64
    with pytest.raises(UserError):
        keep_total_batch(recipe, 5)


def test_long_pairs_are_cut_by_the_recipe_rule():
    pair = {"prompt_ids": list(range(30)), "chosen_ids": [1] * 25, "rejected_ids": [2] * 5}
    cut = truncate_pair(pair, max_length=40, max_prompt_length=16)
    assert cut["prompt_ids"] == list(range(14, 30))  # the end of the prompt is kept
    assert cut["chosen_ids"] == [1] * 24 and cut["rejected_ids"] == [2] * 5  # completions to 40 - 16
    short = {"prompt_ids": [1, 2], "chosen_ids": [3], "rejected_ids": [4]}
    assert truncate_pair(short, max_length=40, max_prompt_length=16) == short


def test_an_objective_the_sandbox_rejects_is_shown_in_the_plan_and_never_trained(tmp_path):
    bad = tmp_path / "batch_mean.py"  # passes the static gate; returns one number instead of one per pair
    bad.write_text(
        "def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps,\n"
        "         reference_rejected_logps, beta):\n"
        "    return (policy_chosen_logps - policy_rejected_logps).mean()\n"
    )
    recipe, origin = load_recipe()
    plan = make_plan(str(bad), recipe, origin, overrides={}, num_gpus=1)
    assert plan.validation.checker == "sandbox"
    assert not plan.validation.ok and plan.validation.stage in {"runtime", "functional"}
    with pytest.raises(UserError, match="failed the sandbox"):
        train_and_record(plan, tmp_path / "runs")


def _archived_proposal_at_beta(runs: Path, beta: float) -> str:
    """A sample run whose first proposal did best at `beta` in its search; its RUN/ID."""
    run_dir = build_run(runs)
    with Archive(run_dir / ARCHIVE_FILE, writable=True) as archive:
        candidate = archive.find_candidate("g1-c0")
        trainings = [SeedResult(seed=s, beta=beta, fitness=0.7 + s / 100, seconds=1) for s in range(3)]
        archive.update_candidate(
            candidate.model_copy(update={"figures": summarise(candidate.name, trainings)})
        )
    return f"{run_dir.name}/g1-c0"


def test_an_archived_proposal_is_retrained_at_the_beta_its_search_chose_and_says_so(tmp_path):
    spec = _archived_proposal_at_beta(tmp_path / "runs", 0.3)
    common = (
        "--dry-run",
        "--json",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--output-dir",
        str(tmp_path / "out"),
    )
    carried = discover_subprocess("retrain", spec, *common)
    assert carried.returncode == 0, carried.stderr
    plan = json.loads(carried.stdout)
    assert plan["training_arguments"]["beta"] == 0.3  # not the recipe's 0.05
    assert plan["notes"][0].startswith("beta 0.3: the beta this candidate did best at in its search")
    assert "the recipe's is 0.05" in plan["notes"][0]
    chosen = discover_subprocess("retrain", spec, *common, "--set", "beta=0.05")
    plan = json.loads(chosen.stdout)
    assert plan["training_arguments"]["beta"] == 0.05
    assert plan["notes"][0] == "beta 0.05 as set; this candidate did best at 0.3 in its search"


def test_a_loss_that_reads_its_batch_is_flagged_and_a_missing_deepspeed_is_named(tmp_path, monkeypatch):
    coupled = tmp_path / "batch_centred.py"
    coupled.write_text(objective("-F.logsigmoid(z - 0.5 * z.mean())"))  # DPO against the batch's mean
    recipe, origin = load_recipe("zephyr-7b-gemma", {})
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "deepspeed" else object())
    plan = make_plan(str(coupled), recipe, origin, {}, runs_dir=tmp_path, output_dir=tmp_path / "out")
    assert plan.validation.ok and plan.validation.batch_coupled
    assert any(
        "depends on the rest of its batch" in note and "batch of 2 pair(s)" in note for note in plan.notes
    )
    assert any(note.startswith("DeepSpeed is not installed here") for note in plan.notes)
    shipped = make_plan("dpo", recipe, origin, {}, runs_dir=tmp_path, output_dir=tmp_path / "dpo")
    assert shipped.validation.batch_coupled is False
    assert not any("batch" in note for note in shipped.notes)  # and no beta of a search to carry
