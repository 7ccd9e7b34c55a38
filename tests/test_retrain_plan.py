"""`discover retrain --dry-run`: the paper's figures, the batch arithmetic and one-line errors."""

import json

import pytest

from discovery.errors import UserError
from discovery.options import parse_options
from discovery.retrain.data import load_split
from discovery.retrain.launch import check_machine, check_sources, train_and_record
from discovery.retrain.plan import keep_total_batch, make_plan
from discovery.retrain.recipe import load_recipe
from discovery.training.truncation import truncate_pair
from tests.support.commands import discover_subprocess


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
