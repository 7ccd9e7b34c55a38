"""Run a plan: write its files, check the sources, launch the job, record the run in the archive.

On GPUs the job runs under `accelerate launch` with DeepSpeed (one process per GPU); on a machine
without a GPU it runs here, in this process, with the same job code. Either way the parent process
checks that the model and data can be loaded first, so a missing download is one line, not a
traceback from every rank.
"""

import contextlib
import importlib.util
import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import yaml

from discovery.errors import UserError
from discovery.paths import huggingface_home
from discovery.provenance import library_versions, new_run_id
from discovery.retrain import distributed
from discovery.retrain.data import hub_hint, load_split
from discovery.retrain.job import train_in_this_process
from discovery.retrain.plan import Plan
from discovery.retrain.result import RESULT_FILE, RetrainResult
from discovery.sandbox.confine import Jail, writable_by_jail
from discovery.sandbox.outputs import read_json
from discovery.sandbox.process import OutputLog, Report, run_confined

RETRAIN_EVALUATOR = "retrain"
RETRAIN_TIMEOUT_S = 7 * 24 * 3600  # a 7B run takes hours; a week means it hangs
_MAX_TASKS = 65536  # accelerate, DeepSpeed and data workers start many processes and threads
_MAX_FILE_MB = 1024 * 1024
_MAX_OUTPUT_MB = 256  # what of its output reaches the terminal or log, capped like a candidate's
_TMP_MB = 16 * 1024


class RetrainFailed(RuntimeError):
    """The confined training job ended without finishing; the message says how, in one line."""


def write_launch_files(plan: Plan) -> list[Path]:
    """plan.json, accelerate.yaml and deepspeed.json in the output folder, which the launch command
    names; a folder that cannot be written is a `UserError`."""
    out = Path(plan.output_dir)
    files = {
        distributed.PLAN_FILE: plan.model_dump_json(indent=2),
        distributed.ACCELERATE_FILE: yaml.safe_dump(plan.launch.accelerate_config, sort_keys=False),
        distributed.DEEPSPEED_FILE: json.dumps(plan.launch.deepspeed_config, indent=2),
    }
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out / name).write_text(text)
    except OSError as error:
        raise UserError(f"cannot write the launch files in {out}: {error.strerror or error}") from error
    return [out / name for name in files]


def check_sources(plan: Plan) -> None:
    """Fail early, in one line, when the model or the data cannot be loaded (e.g. no internet)."""
    from transformers import AutoConfig

    recipe = plan.to_recipe()
    try:
        AutoConfig.from_pretrained(plan.model_name_or_path, revision=recipe.model_revision)
    except OSError as error:
        raise UserError(hub_hint("model", plan.model_name_or_path, "--model")) from error
    load_split(plan.dataset_name, recipe.dataset_config, recipe.dataset_train_split)


def check_machine(plan: Plan, gpus_here: int, has_deepspeed: bool) -> None:
    """The plan's GPU count must be what this machine can give (no silent change of the batch), and
    GPU runs need DeepSpeed installed. A plan for several machines is launched on each of them."""
    if plan.launch.num_machines > 1:
        raise UserError(
            f"the plan is for {plan.launch.num_machines} machines: add --dry-run to write its launch files "
            "and print the command to run on each machine"
        )
    wanted = plan.batch.num_gpus
    if gpus_here == 0 and wanted != 1:
        raise UserError(
            f"no GPU on this machine and the plan is for {wanted} GPUs: pass --num-gpus 1 to train in one "
            "CPU process (accumulation grows to keep the total batch), or --dry-run to see the plan"
        )
    if gpus_here and not has_deepspeed:
        raise UserError("DeepSpeed is not installed: pip install 'discover[deepspeed]' (GPU runs use ZeRO-3)")
    if 0 < gpus_here < wanted:
        raise UserError(
            f"the plan is for {wanted} GPUs and this machine has {gpus_here}: pass --num-gpus {gpus_here}"
        )


def train(plan: Plan) -> RetrainResult:
    """Train the plan to the end in this process (or under `accelerate launch` from it, with GPUs).

    For callers that are themselves a confined candidate job (the judged evaluators' training);
    `discover retrain` confines the training with `train_confined`."""
    gpus_here = _checked(plan)
    write_launch_files(plan)
    return _launch(plan, Path(plan.output_dir), gpus_here)


def train_confined(plan: Plan) -> RetrainResult:
    """Train the plan in a confined process tree (the objective is candidate code): no network, the
    output folder its only writable place; what it reports is read back as untrusted data."""
    gpus_here = _checked(plan)
    write_launch_files(plan)
    out = Path(plan.output_dir)
    writable_by_jail(out)
    jail = Jail(
        workdir=out,
        memory_mb=None,
        max_processes=_MAX_TASKS,
        max_file_mb=_MAX_FILE_MB,
        system=True,
        tmp_mb=_TMP_MB,
        readable=tuple(_local_sources(plan)),
        gpus=tuple(range(gpus_here)),
        loopback=gpus_here > 1,
        environment={"HF_HOME": str(huggingface_home()), "HF_HUB_OFFLINE": "1", "HOME": "/tmp"},
        keep_stderr=True,
    )
    output = OutputLog("the retraining", max_bytes=_MAX_OUTPUT_MB * 2**20)  # hours of progress lines
    try:
        run = run_confined(
            jail, partial(_confined_job, plan, out, gpus_here), timeout_s=RETRAIN_TIMEOUT_S, output=output
        )
    finally:
        output.close()
    if run.last("trained") is not True:
        error = run.last("error")
        raise RetrainFailed(
            f"the training job failed: {error}" if isinstance(error, str) else f"the training job {run.ended}"
        )
    return read_json(out, RESULT_FILE, RetrainResult, max_bytes=64 * 1024 * 1024)


def _confined_job(plan: Plan, out: Path, gpus_here: int, report: Report) -> None:
    _launch(plan, out, gpus_here)
    report({"trained": True})


def _checked(plan: Plan) -> int:
    """The GPUs to train on, once the objective, the machine and the sources are known to be fit."""
    import torch

    if not plan.validation.ok:
        raise UserError(
            f"objective {plan.objective.name} failed the {plan.validation.checker} "
            f"({plan.validation.stage}): {plan.validation.reason}"
        )
    gpus_here = torch.cuda.device_count()
    check_machine(plan, gpus_here, has_deepspeed=importlib.util.find_spec("deepspeed") is not None)
    check_sources(plan)
    return gpus_here


def _local_sources(plan: Plan) -> list[Path]:
    """What the confined job reads: the hub cache, and the model, data and recipe where local."""
    recipe_file = Path(plan.recipe_origin)
    named = [Path(plan.model_name_or_path), Path(plan.dataset_name), recipe_file]
    return [huggingface_home(), *(path.resolve() for path in named if path.exists())]


def train_and_record(plan: Plan, runs_dir: Path) -> tuple[RetrainResult, str]:
    """Train the plan (confined) and record it as a run in `runs_dir`; returns the figures the job
    reported and the archive run id."""
    try:
        result = train_confined(plan)
    except UserError:
        raise
    except Exception as error:
        record(plan, runs_dir, None, failure=f"{type(error).__name__}: {error}")
        raise
    return result, record(plan, runs_dir, result)


def _launch(plan: Plan, out: Path, gpus_here: int) -> RetrainResult:
    """The job here (no GPU) or under accelerate; its logs go to stderr, stdout is for the result."""
    if gpus_here == 0:
        with contextlib.redirect_stdout(sys.stderr):
            return train_in_this_process(plan)
    finished = subprocess.run(plan.launch.command, stdout=sys.stderr, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"the training job exited with code {finished.returncode} (its log is above)")
    return RetrainResult.model_validate_json((out / RESULT_FILE).read_text())


def record(plan: Plan, runs_dir: Path, result: RetrainResult | None, failure: str | None = None) -> str:
    """Store the retrain as a finished run of evaluator "retrain" in `runs_dir`; returns the run id.

    A failed job is recorded too (candidate status `failed`, the error as reason). Fitness is the
    preference accuracy of the implicit reward on the test split (TRL's `eval_rewards/accuracies`),
    the one figure comparable across objectives; every other measured figure is kept in the seed's
    `extra`.
    """
    from discovery.archive import Archive
    from discovery.config import RunConfig
    from discovery.fitness import summarise
    from discovery.records import (
        CandidateRecord,
        CandidateStatus,
        RunRecord,
        RunStatus,
        SeedResult,
        now,
    )

    objective = plan.objective
    run_id = new_run_id(prefix="retrain-")
    candidate = CandidateRecord.of(
        objective,
        id="retrain",
        run_id=run_id,
        generation=0,
        status=CandidateStatus.FAILED,
        reason=failure,
    )
    if result is not None:
        accuracy = result.eval_metrics.get("eval_rewards/accuracies")
        seed = SeedResult(
            seed=plan.to_recipe().seed,
            fitness=accuracy if accuracy is not None else float("nan"),
            accuracy=accuracy,
            seconds=result.seconds,
            train_seconds=result.train_metrics.get("train_runtime"),
            extra={**{f"train/{k}": v for k, v in result.train_metrics.items()}, **result.eval_metrics},
        )
        metrics = summarise(objective.name, [seed])
        candidate = candidate.model_copy(
            update={"status": CandidateStatus.SCORED, "figures": metrics, "seconds": result.seconds}
        )
    run_record = RunRecord(
        id=run_id,
        config=RunConfig(evaluator=RETRAIN_EVALUATOR, generations=0, seeds=1),  # one training is its best
        evaluator_config=plan.model_dump(mode="json"),
        versions=library_versions(),
        proposer="none",
        generations_done=1,
        status=RunStatus.FINISHED,
        ended=now(),
    )
    with Archive.create(runs_dir, run_record) as archive:
        archive.add_candidate(candidate)
    return run_id
