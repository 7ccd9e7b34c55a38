"""`discover retrain` end to end on CPU with a tiny chat model and a tiny dpo-mix-7k-schema dataset,
and DiscoPOP through our objective path against TRL's built-in `loss_type="discopop"`."""

import json
from pathlib import Path

import pytest
import torch

from discovery.archive import Archive
from discovery.errors import UserError
from discovery.objectives import load_objective
from discovery.records import CandidateStatus
from discovery.retrain.launch import write_launch_files
from discovery.retrain.plan import Validation, make_plan
from discovery.retrain.recipe import load_recipe
from discovery.retrain.result import RESULT_FILE
from discovery.training import ObjectiveDPOTrainer
from discovery.training import trainer as trainer_module
from tests.fixtures.tiny_chat import build_all, write_recipe
from tests.support.commands import discover_subprocess

pytestmark = pytest.mark.slow  # retrain jobs that train a tiny chat model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    return build_all(tmp_path_factory.mktemp("tiny"))


def test_retrain_on_cpu_writes_a_loadable_model_a_card_and_an_archive_run(tiny, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir, data_dir = tiny
    recipe = write_recipe(tmp_path / "tiny.yaml", model_dir, data_dir)
    out, runs = tmp_path / "out", tmp_path / "runs"
    finished = discover_subprocess(
        "retrain",
        "discopop",
        "--recipe",
        str(recipe),
        "--output-dir",
        str(out),
        env={"DISCOVER_RUNS_DIR": str(runs)},
    )
    assert finished.returncode == 0, finished.stderr[-3000:]

    model = AutoModelForCausalLM.from_pretrained(out)
    original = AutoModelForCausalLM.from_pretrained(model_dir)
    assert not torch.equal(model.model.embed_tokens.weight, original.model.embed_tokens.weight)  # it trained
    assert AutoTokenizer.from_pretrained(out).chat_template
    card = (out / "README.md").read_text()
    assert load_objective("discopop").source.strip() in card
    assert "max_prompt_length: 16" in card and "eval_rewards/accuracies" in card

    with Archive.open(runs) as archive:
        assert archive.run().evaluator == "retrain"
        (candidate,) = archive.candidates()
        assert (
            candidate.status is CandidateStatus.SCORED
            and candidate.code_hash == load_objective("discopop").code_hash
        )
        assert candidate.figures.seeds[0].extra["train/train_loss"] > 0
        run_id = archive.run().id

    # the recorded objective can be retrained again by its archive name
    recipe, origin = load_recipe(str(recipe))
    again = make_plan(f"{run_id}/retrain", recipe, origin, overrides={}, runs_dir=runs)
    assert again.objective.origin == f"archive:{run_id}/retrain" and again.validation.ok


def _trainer(
    model_dir: Path, data_dir: Path, output_dir: Path, objective=None, max_prompt_length=None, **config
):
    """Our retrain trainer (with an objective) or TRL's own DPOTrainer (without), on the same data."""
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOTrainer

    from discovery.training import dpo_config

    args = dpo_config(
        output_dir=str(output_dir),
        **{
            "beta": 0.05,
            "max_length": 128,
            "per_device_train_batch_size": 4,
            "precompute_ref_log_probs": True,
            **config,
        },
    )
    common = {
        "model": AutoModelForCausalLM.from_pretrained(model_dir),
        "args": args,
        "train_dataset": load_dataset(str(data_dir), split="train"),
        "processing_class": AutoTokenizer.from_pretrained(model_dir),
    }
    if objective is None:
        return DPOTrainer(**common)
    return ObjectiveDPOTrainer(**common, objective=objective, max_prompt_length=max_prompt_length)


def _first_batch_loss(trainer) -> torch.Tensor:
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    return trainer.compute_loss(trainer.model, batch)


def test_discopop_matches_trls_builtin_discopop_loss(tiny, tmp_path):
    model_dir, data_dir = tiny  # max_length 128 cuts nothing, so both paths see the same tokens
    ours = _trainer(model_dir, data_dir, tmp_path / "ours", objective=load_objective("discopop").compile())
    trls = _trainer(model_dir, data_dir, tmp_path / "trl", loss_type="discopop", discopop_tau=0.05)
    ours_loss, trls_loss = _first_batch_loss(ours), _first_batch_loss(trls)
    torch.testing.assert_close(ours_loss, trls_loss, rtol=1e-6, atol=1e-7)
    assert ours_loss.item() > 0


def test_held_logits_give_the_log_probs_of_trls_fused_lm_head(tiny, tmp_path, monkeypatch):
    """Small logits are held whole for speed; the log-probs must be the fused head's, which a large
    model's logits always take."""
    model_dir, data_dir = tiny
    trainer = _trainer(model_dir, data_dir, tmp_path, objective=load_objective("dpo").compile())
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    logits = batch["input_ids"].numel() * trainer.model.config.vocab_size
    assert logits <= trainer_module.MATERIALISED_LOGITS_MAX
    held = trainer._policy_log_probs(trainer.model, batch)
    monkeypatch.setattr(trainer_module, "MATERIALISED_LOGITS_MAX", 0)
    fused = trainer._policy_log_probs(trainer.model, batch)
    for ours, trls in zip(held, fused, strict=True):
        torch.testing.assert_close(ours, trls, rtol=1e-5, atol=1e-5)
        assert ours.requires_grad


def test_long_prompts_are_truncated_not_dropped(tiny, tmp_path):
    model_dir, data_dir = tiny
    dpo = load_objective("dpo").compile()
    ours = _trainer(
        model_dir, data_dir, tmp_path / "ours", objective=dpo, max_prompt_length=16, max_length=40
    )
    rows = ours.train_dataset
    assert len(rows) == 8  # every pair kept; the long prompts (40 words) cut to their last 16 tokens
    lengths = [(len(r["prompt_ids"]), max(len(r["chosen_ids"]), len(r["rejected_ids"]))) for r in rows]
    assert all(prompt + completion <= 40 for prompt, completion in lengths)
    assert sum(prompt == 16 for prompt, _ in lengths) >= 2
    trl_alone = _trainer(model_dir, data_dir, tmp_path / "trl", max_length=40)
    assert len(trl_alone.train_dataset) < 8  # TRL 1.16 drops pairs whose prompt fills max_length


def test_an_interrupted_retrain_resumes_from_its_newest_complete_checkpoint(tiny, tmp_path):
    """Two steps with a checkpoint after each, a checkpoint folder cut off while being written, then
    --resume: the run continues at step 3 and ends exactly where an uninterrupted run ends."""
    from safetensors.torch import load_file

    from discovery.sandbox.confine import writable_by_jail

    model_dir, data_dir = tiny
    recipe = write_recipe(
        tmp_path / "tiny.yaml", model_dir, data_dir, num_train_epochs=2, lr_scheduler_type="constant"
    )  # 4 optimizer steps
    out, runs = tmp_path / "out", tmp_path / "runs"

    def retrain(output: Path, *args: str):
        finished = discover_subprocess(
            "retrain", "discopop", "--recipe", str(recipe), "--output-dir", str(output), *args,
            env={"DISCOVER_RUNS_DIR": str(runs)},
        )  # fmt: skip
        assert finished.returncode == 0, finished.stderr[-3000:]
        return json.loads((output / RESULT_FILE).read_text())

    retrain(out, "--save-steps", "1", "--set", "max_steps=2")  # stopped after step 2
    assert [p.name for p in out.glob("checkpoint-*")] == ["checkpoint-2"]  # only the newest is kept
    (out / "checkpoint-3").mkdir()  # killed while writing the next one: no trainer_state.json
    writable_by_jail(out / "checkpoint-3")  # as the confined trainer would have left it
    resumed = retrain(out, "--save-steps", "1", "--resume")
    whole = retrain(tmp_path / "whole")

    losses = {entry["step"]: entry["loss"] for entry in whole["log_history"] if "loss" in entry}
    assert sorted(losses) == [1, 2, 3, 4]
    # the resumed process trained steps 3 and 4 only: its mean training loss is theirs
    assert resumed["train_metrics"]["train_loss"] == pytest.approx((losses[3] + losses[4]) / 2)
    assert whole["train_metrics"]["train_loss"] == pytest.approx(sum(losses.values()) / 4)
    # optimizer, scheduler, random state and data order were restored: the same model at the end
    weights = load_file(out / "model.safetensors")
    reference = load_file(tmp_path / "whole" / "model.safetensors")
    assert all(torch.equal(weights[name], reference[name]) for name in reference)
    assert [p.name for p in out.glob("checkpoint-*")] == ["checkpoint-4"]


def test_a_resume_needs_a_checkpoint_of_the_same_training(tiny, tmp_path):
    model_dir, data_dir = tiny
    recipe, origin = load_recipe(str(write_recipe(tmp_path / "tiny.yaml", model_dir, data_dir)))
    out = tmp_path / "out"

    def plan(objective: str = "discopop", **options):
        checked = Validation(ok=True, checker="sandbox")  # what the sandbox says is not the point here
        return make_plan(
            objective,
            options.pop("recipe", recipe),
            origin,
            {},
            output_dir=out,
            validation=checked,
            **options,
        )

    with pytest.raises(UserError, match="no complete checkpoint"):
        plan(resume=True)
    write_launch_files(plan(save_steps=1))
    (out / "checkpoint-1").mkdir()
    (out / "checkpoint-1" / "trainer_state.json").write_text("{}")
    assert plan(save_steps=5, resume=True).resume  # how often it saves may change, and how long it runs
    with pytest.raises(UserError, match="holds checkpoint-1 of an earlier retrain: add --resume"):
        plan(save_steps=1)  # training from scratch would overwrite them
    with pytest.raises(UserError, match=r"training argument beta 0\.05, not 0\.5"):
        plan(recipe=recipe.model_copy(update={"beta": 0.5}), save_steps=1, resume=True)
    with pytest.raises(UserError, match="objective of code hash"):
        plan("dpo", save_steps=1, resume=True)
