"""The training job every process runs: `python -m discovery.retrain.job PLAN.json`.

Under `accelerate launch` each GPU process runs `main`; on a machine without a GPU the launcher calls
`train_in_this_process`. The code is the same: TRL's `DPOTrainer` with the objective's loss
(`ObjectiveDPOTrainer`, with the recipe's prompt truncation), reference log-probs
precomputed as the recipe asks, and at the end the model, tokenizer and model card in the output
folder (written by the main process only).
"""

import os
import sys
import time
from pathlib import Path
from typing import Any

from discovery.errors import UserError
from discovery.retrain.data import hub_hint, load_split
from discovery.retrain.plan import Plan, checkpoint_to_resume, load_plan
from discovery.retrain.result import RESULT_FILE, RetrainResult


def _load_model_and_tokenizer(plan: Plan, config):
    """Policy weights in the recipe's dtype on GPUs, float32 on CPU (where training runs in fp32)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    recipe = plan.to_recipe()
    name = plan.model_name_or_path
    remote = config.trust_remote_code
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            name, revision=recipe.model_revision, trust_remote_code=remote
        )
        model = AutoModelForCausalLM.from_pretrained(
            name,
            revision=recipe.model_revision,
            dtype=recipe.dtype if config.bf16 or config.fp16 else "float32",
            attn_implementation=recipe.attn_implementation,
            trust_remote_code=remote,
        )
    except OSError as error:
        raise UserError(hub_hint("model", name, "--model")) from error
    return model, tokenizer


def build_trainer(plan: Plan):
    """(trainer, tokenizer) for the plan on this process, with the data prepared and the reference
    log-probs precomputed (TRL does both while the trainer is built)."""
    import datasets
    from trl import DPOConfig

    from discovery.training import ObjectiveDPOTrainer, hardware_defaults

    loss = plan.objective.compile()  # in the confined job: the static gate runs, then the code
    recipe = plan.to_recipe()
    if not _writable(plan.dataset_name):  # a confined job reads its data read-only: map in memory
        datasets.disable_caching()
    fields = {**plan.training_arguments, **hardware_defaults()}
    if not recipe.dataset_test_split:
        fields["eval_strategy"] = "no"
    # The config comes first: under DeepSpeed ZeRO-3 it enables sharded loading of the model
    try:
        config = DPOConfig(**fields)
    except (TypeError, ValueError) as error:
        raise UserError(f"TRL's DPOConfig rejects the recipe: {str(error).splitlines()[0]}") from error
    model, tokenizer = _load_model_and_tokenizer(plan, config)
    splits = (recipe.dataset_train_split, recipe.dataset_test_split)
    train, test = (load_split(plan.dataset_name, recipe.dataset_config, s) if s else None for s in splits)
    trainer = ObjectiveDPOTrainer(
        model=model,
        args=config,
        train_dataset=train,
        eval_dataset=test,
        processing_class=tokenizer,
        objective=loss,
        max_prompt_length=recipe.max_prompt_length,
    )
    return trainer, tokenizer


def _writable(dataset_name: str) -> bool:
    """Whether `datasets` can write its cache files where the data lies (a local copy, or the hub cache)."""
    import datasets

    folder = Path(dataset_name) if Path(dataset_name).exists() else Path(datasets.config.HF_DATASETS_CACHE)
    return os.access(folder, os.W_OK)


def train_in_this_process(plan: Plan) -> RetrainResult:
    """Train the plan's objective with the plan's recipe (from its newest checkpoint, for a resumed
    plan); write model, tokenizer and card."""
    from discovery.retrain.card import write_card

    started = time.monotonic()
    checkpoint = checkpoint_to_resume(plan) if plan.resume else None
    trainer, tokenizer = build_trainer(plan)
    train_metrics = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None).metrics
    eval_metrics = trainer.evaluate() if trainer.eval_dataset is not None else {}
    trainer.save_model(plan.output_dir)
    result = RetrainResult(
        output_dir=plan.output_dir,
        train_metrics=_numbers(train_metrics),
        eval_metrics=_numbers(eval_metrics),
        log_history=trainer.state.log_history,
        seconds=time.monotonic() - started,
        hardware=_hardware(trainer.accelerator),
    )
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(plan.output_dir)
        write_card(Path(plan.output_dir), plan, result)
        Path(plan.output_dir, RESULT_FILE).write_text(result.model_dump_json(indent=2))
    return result


def _hardware(accelerator) -> str:
    import torch

    device = accelerator.device
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    return f"{accelerator.num_processes} x {name}"


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    return {key: float(value) for key, value in metrics.items() if isinstance(value, int | float)}


def main(argv: list[str] | None = None) -> None:
    """Entry point of each launched process: read the plan, train; user mistakes are one line, exit 2."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit("usage: python -m discovery.retrain.job PLAN.json")
    try:
        plan = load_plan(Path(args[0]))
        if not plan.validation.ok:  # a launch command pasted by hand must not train what the sandbox refused
            raise UserError(f"objective {plan.objective.name} failed the {plan.validation.checker}: "
                            f"{plan.validation.reason}")  # fmt: skip
        train_in_this_process(plan)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
