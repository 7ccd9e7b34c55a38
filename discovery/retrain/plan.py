"""Recipe + objective + command-line choices -> the resolved plan a retrain job runs.

The plan is the single document the job process reads (`plan.json`), and what `--dry-run` prints:
every hyperparameter, the batch arithmetic, the optimizer steps and the launch configuration.

A plan that resumes (`resume`) continues the training of the newest complete checkpoint in its output
folder (`checkpoints`), so the plan the checkpoints were written under (the `plan.json` beside them)
must agree with it on everything that shapes the optimisation, except how long it lasts: a finished
run can be trained further.
"""

import dataclasses
import importlib.util
import json
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, computed_field

from discovery.errors import UserError
from discovery.objectives import Objective
from discovery.paths import default_runs_dir
from discovery.resolve import resolve_candidate, resolve_objective
from discovery.retrain import distributed
from discovery.retrain.checkpoints import newest_checkpoint
from discovery.retrain.data import count_rows
from discovery.retrain.recipe import Recipe

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


class Validation(BaseModel):
    """The objective's verdict before any training: which checker ran and what it said."""

    ok: bool
    checker: str  # "sandbox": static gate, confined run and functional checks
    stage: str | None = None
    reason: str | None = None
    batch_coupled: bool | None = None  # a pair's loss depends on the rest of its batch


class Batch(BaseModel):
    """How the recipe's total batch is kept on this many GPUs (all machines together)."""

    per_device: int
    accumulation: int
    num_gpus: int
    num_machines: int = 1
    total: int
    recipe_accumulation: int
    recipe_num_gpus: int
    note: str


class Steps(BaseModel):
    """Optimizer steps, as transformers' `Trainer` will count them."""

    train_rows: int | None
    rows_source: str
    steps_per_epoch: int | None
    optimizer_steps: int | None
    warmup_steps: int | None
    evaluations_during_training: int | None


class Launch(BaseModel):
    """What runs: `accelerate launch` with DeepSpeed, or one plain process on a machine without a GPU.

    `command` runs on every machine; on several, it reads the machine's rank and the first machine's
    address from the shell (`shell` is the line to paste)."""

    command: list[str]
    accelerate_config: dict[str, Any]
    deepspeed_config: dict[str, Any]
    num_machines: int = 1

    @computed_field  # type: ignore[prop-decorator]
    @property
    def shell(self) -> str:
        return distributed.shell_line(self.command)


class Plan(BaseModel):
    """Everything a retrain job needs, resolved; serialised as the job's `plan.json`."""

    objective: Objective
    validation: Validation
    recipe_origin: str
    recipe: dict[str, Any]
    overrides: dict[str, Any]
    model_name_or_path: str
    dataset_name: str
    output_dir: str
    batch: Batch
    steps: Steps
    training_arguments: dict[str, Any]
    launch: Launch
    resume: bool = False  # continue from the newest complete checkpoint in `output_dir`
    notes: list[str] = []  # what the user should know before launching (`plan_notes`)

    def to_recipe(self) -> Recipe:
        return Recipe.model_validate(self.recipe)


def load_plan(path: Path) -> Plan:
    """The plan a launcher wrote; a missing or damaged file is a `UserError`."""
    try:
        return Plan.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError) as error:  # JSON and validation errors are ValueErrors
        raise UserError(f"cannot read the plan {path}: {str(error).splitlines()[0]}") from error


def validate_objective(objective: Objective) -> Validation:
    """The sandbox's verdict (static gate, confined run, functional checks) before anything trains.

    A sandbox that cannot start is a failed validation, not a skipped one: the job would otherwise
    train code that only the static gate has seen.
    """
    from discovery.sandbox import HelperUnavailable, validate_source

    try:
        verdict = validate_source(objective.source)
    except HelperUnavailable as error:
        reason = f"sandbox unavailable: {error}"
        return Validation(ok=False, checker="sandbox", stage="runtime", reason=reason)
    return Validation(
        ok=verdict.ok,
        checker="sandbox",
        stage=verdict.stage,
        reason=verdict.reason,
        batch_coupled=verdict.batch_coupled,
    )


def keep_total_batch(recipe: Recipe, num_gpus: int, num_machines: int = 1) -> Batch:
    """Accumulation for `num_gpus` GPUs in all (on `num_machines` machines) that keeps the recipe's
    total batch; an error if none does exactly."""
    total = recipe.total_train_batch
    per_step = recipe.per_device_train_batch_size * num_gpus
    if total % per_step:
        raise UserError(
            f"cannot keep the recipe's total batch {total} on {num_gpus} GPU(s) with per-device batch "
            f"{recipe.per_device_train_batch_size}: {total} is not a multiple of {per_step}; choose another "
            "--num-gpus or --set per_device_train_batch_size / gradient_accumulation_steps"
        )
    accumulation = total // per_step
    where = f"{num_gpus} GPU(s)" if num_machines == 1 else f"{num_gpus} GPUs on {num_machines} machines"
    if num_gpus == recipe.num_gpus:
        note = (
            f"as in the recipe: {recipe.per_device_train_batch_size} x {accumulation} x {num_gpus} = {total}"
        )
    else:
        note = (
            f"gradient accumulation {recipe.gradient_accumulation_steps} -> {accumulation} to keep the "
            f"recipe's total batch {total} on {where} instead of {recipe.num_gpus}"
        )
    return Batch(
        per_device=recipe.per_device_train_batch_size,
        accumulation=accumulation,
        num_gpus=num_gpus,
        num_machines=num_machines,
        total=total,
        recipe_accumulation=recipe.gradient_accumulation_steps,
        recipe_num_gpus=recipe.num_gpus,
        note=note,
    )


def steps_per_epoch(rows: int, batch: Batch) -> int:
    """Optimizer steps per epoch as `Trainer` counts them: each process gets ceil(batches / GPUs)
    batches (accelerate pads the last round) and an epoch ends with a partial accumulation step."""
    batches_per_process = math.ceil(math.ceil(rows / batch.per_device) / batch.num_gpus)
    return math.ceil(batches_per_process / batch.accumulation)


def count_steps(recipe: Recipe, batch: Batch, dataset_name: str) -> Steps:
    """Optimizer steps as `Trainer` counts them (`steps_per_epoch`); fractional epochs round the
    total up, and a positive `max_steps` overrides it all."""
    rows, source = count_rows(dataset_name, recipe.dataset_config, recipe.dataset_train_split)
    if rows is None:
        return Steps(
            train_rows=None,
            rows_source=source,
            steps_per_epoch=None,
            optimizer_steps=None,
            warmup_steps=None,
            evaluations_during_training=None,
        )
    per_epoch = steps_per_epoch(rows, batch)
    max_steps = (recipe.model_extra or {}).get("max_steps", -1)
    total = max_steps if max_steps > 0 else math.ceil(recipe.num_train_epochs * per_epoch)
    warmup = int(recipe.warmup_steps) if recipe.warmup_steps >= 1 else math.ceil(total * recipe.warmup_steps)
    eval_steps = (recipe.model_extra or {}).get("eval_steps")
    evaluating = (recipe.model_extra or {}).get("eval_strategy") == "steps" and eval_steps
    evaluations = total // int(eval_steps) if evaluating else 0
    return Steps(
        train_rows=rows,
        rows_source=source,
        steps_per_epoch=per_epoch,
        optimizer_steps=total,
        warmup_steps=warmup,
        evaluations_during_training=evaluations,
    )


def _default_max_grad_norm() -> float:
    from trl import DPOConfig

    return next(f.default for f in dataclasses.fields(DPOConfig) if f.name == "max_grad_norm")


def make_plan(
    objective_spec: str | Objective,
    recipe: Recipe,
    recipe_origin: str,
    overrides: dict[str, Any],
    num_gpus: int | None = None,
    model: str | None = None,
    dataset: str | None = None,
    output_dir: str | Path | None = None,
    runs_dir: Path | None = None,
    validation: Validation | None = None,
    num_machines: int = 1,
    save_steps: int | None = None,
    resume: bool = False,
) -> Plan:
    """Resolve every figure of a retrain run; raises `UserError` for anything that cannot be kept.

    OBJECTIVE means what it means on every command (`discovery.resolve`): a shipped name, a `.py`
    file, or an archived candidate `RUN/CANDIDATE` from `runs_dir`; callers that already hold an
    `Objective` (the evaluators) pass it as is, with the `validation` it already had (else the
    sandbox validates it here). `num_gpus` counts the GPUs of one machine (default: the recipe's
    count on one machine). Paths are made absolute, so that the launch command works from any folder
    of any machine that shares the file system. `save_steps` writes a checkpoint every so many
    optimizer steps; `resume` continues from the newest complete one (`checkpoints`).
    """
    runs_dir = runs_dir or default_runs_dir()
    if isinstance(objective_spec, Objective):
        objective = objective_spec
    else:
        objective = resolve_objective(objective_spec, runs_dir)
    searched_beta, recipe_beta = _searched_beta(objective_spec, objective, runs_dir), recipe.beta
    if searched_beta is not None and "beta" not in overrides:
        recipe = recipe.model_copy(update={"beta": searched_beta})
        overrides = {**overrides, "beta": searched_beta}
    per_machine = recipe.num_gpus if num_gpus is None else num_gpus
    if per_machine < 1:
        raise UserError(f"--num-gpus must be at least 1, got {per_machine}")
    if num_machines < 1:
        raise UserError(f"--num-machines must be at least 1, got {num_machines}")
    if save_steps is not None and save_steps < 1:
        raise UserError(f"--save-steps must be at least 1, got {save_steps}")
    gpus = per_machine * num_machines
    batch = keep_total_batch(recipe, gpus, num_machines)
    dataset_name = _local_or_hub(dataset or recipe.dataset_name)
    recipe_name = Path(recipe_origin.removeprefix("shipped:")).stem
    out = Path(output_dir) if output_dir else runs_dir / "retrain" / f"{objective.name}-{recipe_name}"
    out = out.absolute()
    training = {
        **recipe.training_arguments(),
        **_checkpointing(recipe, save_steps),
        "gradient_accumulation_steps": batch.accumulation,
        "output_dir": str(out),
    }
    max_grad_norm = training.get("max_grad_norm", _default_max_grad_norm())
    ds_config = distributed.deepspeed_config(
        recipe.accelerate_config, batch.per_device, batch.accumulation, gpus, max_grad_norm
    )
    launch = Launch(
        command=distributed.accelerate_command(out, gpus, num_machines),
        accelerate_config=distributed.accelerate_config(
            recipe.accelerate_config, gpus, out / distributed.DEEPSPEED_FILE, num_machines
        ),
        deepspeed_config=ds_config,
        num_machines=num_machines,
    )
    validation = validation or validate_objective(objective)
    plan = Plan(
        objective=objective,
        validation=validation,
        recipe_origin=recipe_origin,
        recipe=recipe.model_dump(),
        overrides=overrides,
        model_name_or_path=_local_or_hub(model or recipe.model_name_or_path),
        dataset_name=dataset_name,
        output_dir=str(out),
        batch=batch,
        steps=count_steps(recipe, batch, dataset_name),
        training_arguments=training,
        launch=launch,
        resume=resume,
        notes=plan_notes(recipe, batch, validation, searched_beta, recipe_beta),
    )
    if resume:
        checkpoint_to_resume(plan)  # there is one, written under the same plan
    else:
        refuse_restart(plan)
    return plan


def _searched_beta(spec: str | Objective, objective: Objective, runs_dir: Path) -> float | None:
    """The beta an archived proposal did best at in its search (None for a shipped objective, a file,
    or a candidate without figures): what it was measured with, so what a retrain should start from."""
    if isinstance(spec, Objective) or not objective.origin.startswith("archive:"):
        return None
    view = resolve_candidate(spec, runs_dir)
    figures = view.candidate.figures
    return None if view.candidate.is_seed or figures is None else figures.best_beta


def plan_notes(
    recipe: Recipe, batch: Batch, validation: Validation, searched_beta: float | None, recipe_beta: float
) -> list[str]:
    """What to know before launching: the beta and where it comes from, an objective that trains
    differently at the recipe's batch size, a launch that needs DeepSpeed where it is not installed."""
    notes = []
    if searched_beta is not None:
        if recipe.beta == searched_beta:
            notes.append(
                f"beta {searched_beta:g}: the beta this candidate did best at in its search (the recipe's "
                f"is {recipe_beta:g}); the search's small model may want another beta than a 7B one: "
                "--set beta=... to choose"
            )
        else:
            notes.append(
                f"beta {recipe.beta:g} as set; this candidate did best at {searched_beta:g} in its search"
            )
    if validation.batch_coupled:
        notes.append(
            "a pair's loss depends on the rest of its batch (a batch statistic): it will train differently "
            f"at the recipe's per-device batch of {batch.per_device} pair(s) than it did in its search"
        )
    if batch.num_gpus and importlib.util.find_spec("deepspeed") is None:
        notes.append(
            "DeepSpeed is not installed here (pip install 'discover[deepspeed]'): the launch on GPUs needs "
            "it on the machines that run it; without a GPU one plain process runs the job instead"
        )
    return notes


def _checkpointing(recipe: Recipe, save_steps: int | None) -> dict[str, Any]:
    """Training arguments for a checkpoint every `save_steps` steps. Only the newest is kept unless
    the recipe says otherwise: the older one is deleted only once the newer is complete, and a 7B
    checkpoint with its optimizer states is about 100 GB."""
    if save_steps is None:
        return {}
    kept = (recipe.model_extra or {}).get("save_total_limit") or 1
    return {"save_strategy": "steps", "save_steps": save_steps, "save_total_limit": kept}


def _local_or_hub(name: str) -> str:
    """A local folder as an absolute path (the job may start in another folder); a hub name as is."""
    path = Path(name)
    try:
        return str(path.absolute()) if path.exists() else name
    except OSError:  # a name the system cannot look up (too long) is no local path
        return name


def checkpoint_to_resume(plan: Plan) -> Path:
    """The checkpoint `plan` resumes from; a `UserError` when there is none, or when the checkpoints
    were written under a plan that trains differently."""
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


def refuse_restart(plan: Plan) -> None:
    """A `UserError` when the plan would train from scratch over the checkpoints of an earlier
    retrain: a preempted run restarted without --resume would lose them (and its plan.json)."""
    out = Path(plan.output_dir)
    checkpoint = newest_checkpoint(out)
    if checkpoint is not None:
        raise UserError(
            f"{out} holds {checkpoint.name} of an earlier retrain: add --resume to continue it, or choose "
            "another --output-dir"
        )


def _identity(plan: Plan) -> dict[str, Any]:
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
