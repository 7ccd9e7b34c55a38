"""Resuming an interrupted retrain from the newest complete checkpoint in its output folder.

transformers writes a checkpoint as `checkpoint-<step>/` and its `trainer_state.json` last, after
the weights, optimizer, scheduler and random states (and, under DeepSpeed, after every rank's
shards): a folder without it was cut off while being written, so it is never resumed from. A resume
must continue the same training, so the plan the checkpoints were written under (the `plan.json`
beside them) must agree with the new one on everything that shapes the optimisation, except how
long it lasts: a finished run can be trained further.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

from discovery.errors import UserError
from discovery.retrain import distributed

if TYPE_CHECKING:
    from discovery.retrain.plan import Plan

# Training arguments a resume may change: how long to train (a finished run can be trained further),
# and how often to save, log and evaluate.
MAY_CHANGE_ON_RESUME = frozenset(
    {
        "max_steps",
        "num_train_epochs",
        "save_strategy",
        "save_steps",
        "save_total_limit",
        "logging_strategy",
        "logging_steps",
        "eval_strategy",
        "eval_steps",
        "report_to",
    }
)


def newest_checkpoint(output_dir: Path) -> Path | None:
    """The complete checkpoint with the highest step in `output_dir`, if any."""
    try:
        entries = list(output_dir.iterdir())
    except OSError:  # no folder yet: nothing to resume
        return None
    if not entries:
        return None
    from transformers.trainer import TRAINER_STATE_NAME  # seconds to import: only for a folder with files
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    prefix = f"{PREFIX_CHECKPOINT_DIR}-"
    folders = [path for path in entries if path.name.startswith(prefix)]
    steps = {
        int(path.name.removeprefix(prefix)): path
        for path in folders
        if path.name.removeprefix(prefix).isdigit() and (path / TRAINER_STATE_NAME).is_file()
    }
    return steps[max(steps)] if steps else None


def checkpoint_to_resume(plan: "Plan") -> Path:
    """The checkpoint `plan` resumes from; a `UserError` when there is none, or when the checkpoints
    were written under a plan that trains differently."""
    from discovery.retrain.job import load_plan

    out = Path(plan.output_dir)
    checkpoint = newest_checkpoint(out)
    if checkpoint is None:
        raise UserError(f"--resume: no complete checkpoint in {out} (--save-steps N writes them)")
    saved_file = out / distributed.PLAN_FILE
    if saved_file.is_file():
        saved, new = _identity(load_plan(saved_file)), _identity(plan)
        changed = [key for key in sorted(saved.keys() | new.keys()) if saved.get(key) != new.get(key)]
        if changed:
            key = changed[0]
            raise UserError(
                f"--resume: the checkpoints in {out} were written with {key} {saved.get(key)!r}, not "
                f"{new.get(key)!r}: resume with the same objective, recipe and options, or choose another "
                "--output-dir"
            )
    return checkpoint


def refuse_restart(plan: "Plan") -> None:
    """A `UserError` when the plan would train from scratch over the checkpoints of an earlier
    retrain: a preempted run restarted without --resume would lose them (and its plan.json)."""
    out = Path(plan.output_dir)
    checkpoint = newest_checkpoint(out)
    if checkpoint is not None:
        raise UserError(
            f"{out} holds {checkpoint.name} of an earlier retrain: add --resume to continue it, or choose "
            "another --output-dir"
        )


def _identity(plan: "Plan") -> dict[str, Any]:
    """What a resumed run must share with the interrupted one: everything but how long it trains and
    how often it saves, logs and evaluates."""
    arguments = {
        f"training argument {name}": value
        for name, value in plan.training_arguments.items()
        if name not in MAY_CHANGE_ON_RESUME
    }
    return {
        "the objective of code hash": plan.objective.code_hash,
        "model": plan.model_name_or_path,
        "dataset": plan.dataset_name,
        "GPUs": plan.batch.num_gpus,
        **arguments,
    }
