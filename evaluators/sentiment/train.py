"""One function that sets up the TRL trainer, used both to precompute reference log-probs (once,
while the cache is built) and to train each candidate.

Sharing it is what makes the cache hit: TRL stores the precomputed reference log-probs next to the
on-disk dataset under a fingerprint of (tokenized dataset, reference weights). A candidate's
trainer tokenizes the same dataset the same way, finds that file and never runs the reference.
"""

from pathlib import Path
from typing import Any

from datasets import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerFast, TrainerCallback
from transformers.trainer_callback import PrinterCallback
from trl import DPOConfig

from discovery.objectives import LossFunction
from discovery.progress import Progress, no_progress
from discovery.training import ObjectiveDPOTrainer, dpo_config
from evaluators.sentiment.settings import TrainSettings


class _ReportSteps(TrainerCallback):
    """Forwards the trainer's step count to a `Progress`."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def on_step_end(self, args, state, control, **kwargs):
        self.progress("train", state.global_step / max(1, state.max_steps))


def training_args(
    settings: TrainSettings, seed: int, beta: float, output_dir: Path, **overrides: Any
) -> DPOConfig:
    """The `DPOConfig` of a candidate's training run (`overrides` for comparisons, e.g. a built-in loss)."""
    return dpo_config(
        output_dir=str(output_dir),
        beta=beta,
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_pairs,
        precompute_ref_log_probs=True,
        precompute_ref_batch_size=256,
        max_length=None,
        seed=seed,
        data_seed=seed,
        lr_scheduler_type="linear",
        warmup_steps=0,
        **overrides,
    )


def make_trainer(
    policy: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    train_dataset: Dataset,
    objective: LossFunction,
    settings: TrainSettings,
    seed: int,
    beta: float,
    output_dir: Path,
    progress: Progress = no_progress,
) -> ObjectiveDPOTrainer:
    """An `ObjectiveDPOTrainer` with precomputed reference log-probs (the policy starts as the reference)."""
    trainer = ObjectiveDPOTrainer(
        model=policy,
        args=training_args(settings, seed, beta, output_dir),
        train_dataset=train_dataset,
        processing_class=tokenizer,
        objective=objective,
        callbacks=[_ReportSteps(progress)],
    )
    trainer.remove_callback(PrinterCallback)  # it prints the final metrics to stdout, which `--json` owns
    return trainer
