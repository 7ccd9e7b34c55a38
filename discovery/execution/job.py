"""One candidate's evaluation as a job: confined training per (seed, beta), then trusted scoring.

`run_job` runs in a trusted worker process that imports what the evaluator needs and never runs
parallel torch work itself, so that forking it is safe. For every training it forks a confined trainer
(`discovery.sandbox.process`): only there is the candidate's source compiled and called, and the
trainer's only output is files in its own folder. Then it forks a scorer that never executed
candidate code, which reads those files as untrusted data and computes the figures. A failure of
any kind inside the trainer (an exception, `exit`, a hang past the deadline, memory exhaustion, a
killed process, a poisoned interpreter) ends that process only and comes back as the candidate's
failure, in one line; the worker and the next candidate are untouched. What the trainer writes to
stdout and stderr reaches the worker's log capped and deduplicated (`OutputLog`), and its deadlines
follow the task (`TrainingLimits`).
"""

import importlib
import json
import shutil
import time
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from discovery.errors import ServiceUnavailable, UserError
from discovery.execution.allocator import keep_freed_memory
from discovery.objectives import Objective
from discovery.objectives.compile import ObjectiveRejected
from discovery.progress import Progress, no_progress
from discovery.records import SeedResult, TrainingPoint
from discovery.sandbox.confine import Jail, unreadable_in_jail, writable_by_jail
from discovery.sandbox.outputs import UntrustedOutput
from discovery.sandbox.process import ConfinedRun, OutputLog, Report, run_confined, run_trusted
from evaluators import Evaluator, get_evaluator
from evaluators.base import TrainingLimits

# Threads count as processes for the limit; a trainer needs its thread pools, never a fork bomb.
_MAX_TRAINER_TASKS = 512
_MAX_FILE_MB = 16 * 1024
# A scorer never ran candidate code; it gets at least this long, whatever the training's deadline.
_MIN_SCORE_TIMEOUT_S = 900.0
# A private /tmp for libraries that convert data there (`datasets`); memory-backed, so capped.
_TRAINER_TMP_MB = 4096
_MAX_REASON_CHARS = 600
# Only a job whose evaluator calls an endpoint (a judge) may see these: the trainers a job process
# forks are copies of its memory, where clearing the environment leaves the key; a process that
# never held it leaks none.
ENDPOINT_SECRETS = ("OPENAI_API_KEY", "OPENAI_BASE_URL")
OUTCOME_FILE = "outcome.json"  # what a finished job leaves in its folder
PROGRESS_FILE = "progress.json"


class JobSettings(BaseModel):
    """What every job of a run shares: the evaluator and how its candidates may train."""

    evaluator: str
    evaluator_module: str | None = None  # imported first when the evaluator is registered outside
    evaluator_options: dict[str, Any] = Field(default_factory=dict)
    cache_dir: Path
    limits: TrainingLimits | None = None  # None: the evaluator's own
    training_timeout: float | None = Field(
        None, gt=0, description="the user's wall-clock limit of a training, in place of the evaluator's"
    )
    calls_endpoint: bool = False  # the evaluator's scoring calls an LLM endpoint (its worker gets the key)
    threads: int = Field(1, ge=1, description="torch threads of the trainer and the scorer")
    gpus: list[int] = Field(default_factory=list)

    @classmethod
    def of(cls, evaluator: Evaluator, **fields: Any) -> "JobSettings":
        """Settings that rebuild `evaluator` (its class, the options it was given, its cache folder)
        in another process."""
        return cls(
            evaluator=evaluator.name,
            evaluator_module=type(evaluator).__module__,
            evaluator_options=evaluator.options.model_dump(mode="json", exclude_unset=True),
            cache_dir=evaluator.cache_dir,
            calls_endpoint=evaluator.calls_endpoint,
            **fields,
        )

    def job(self, objective: Objective, points: list[TrainingPoint], workdir: Path) -> "CandidateJob":
        return CandidateJob(**self.model_dump(), objective=objective, points=points, workdir=workdir)


class CandidateJob(JobSettings):
    """Everything a worker needs to evaluate one candidate; JSON, so it can travel to another node."""

    objective: Objective
    points: list[TrainingPoint]  # the trainings, in order
    workdir: Path  # each training happens in workdir/<point label>/, removed once scored


class JobOutcome(BaseModel):
    """How a job ended: the figures of every training, or the candidate's failure in one line, or why
    it could not run through no fault of the candidate; and which confinement layers were active."""

    trainings: list[SeedResult] | None = None
    failure: str | None = None  # the candidate's: recorded, fed back to the proposer
    unavailable: str | None = None  # a service scoring needs is down: the run stops, resumable
    user_error: str | None = None  # something the user must fix (an unreadable task folder, say)
    isolation: dict[str, bool] = Field(default_factory=dict)

    def raise_for_caller(self) -> None:
        """Raise what the caller, not the candidate, must act on: a service down, a user's mistake."""
        if self.unavailable:
            raise ServiceUnavailable(self.unavailable)
        if self.user_error:
            raise UserError(self.user_error)


def run_job_to_file(
    job: CandidateJob, progress: Progress = no_progress, evaluator: Evaluator | None = None
) -> JobOutcome:
    """Run the job where it was sent (a local worker, a Slurm node) and leave its outcome in its
    folder, written atomically: a run that restarted meanwhile collects it from there."""
    job.workdir.mkdir(parents=True, exist_ok=True)
    try:
        outcome = run_job(job, _ProgressFile(job.workdir, progress), evaluator)
    except ServiceUnavailable as error:
        outcome = JobOutcome(unavailable=str(error))
    except UserError as error:
        outcome = JobOutcome(user_error=str(error))
    staging = job.workdir / f".{OUTCOME_FILE}.partial"
    staging.write_text(outcome.model_dump_json())
    staging.replace(job.workdir / OUTCOME_FILE)
    return outcome


def run_job_on_node(job_json: str) -> None:
    """The function a cluster job runs (submitted through submitit): a fresh process that never
    computes itself, so that it may fork the confined trainers and trusted scorers."""
    settle_job_process()
    run_job_to_file(CandidateJob.model_validate_json(job_json))


def settle_job_process() -> None:
    """What a process that runs jobs (a local worker, a cluster job) sets before the first: one
    torch thread, since it never computes and forks the trainers and scorers that set their own;
    quiet libraries; and an allocator that keeps the memory each training step frees."""
    import torch

    from discovery.quiet import quiet_libraries

    torch.set_num_threads(1)
    quiet_libraries()
    keep_freed_memory()


def read_outcome(workdir: Path) -> JobOutcome | None:
    """The outcome a job left in its folder, if it finished (written by the trusted job process)."""
    try:
        return JobOutcome.model_validate_json((workdir / OUTCOME_FILE).read_bytes())
    except FileNotFoundError:
        return None
    except ValueError as error:  # a damaged file: the job must run again
        (workdir / OUTCOME_FILE).unlink(missing_ok=True)
        raise FileNotFoundError(f"{workdir / OUTCOME_FILE} was unreadable and is removed") from error


def read_progress(workdir: Path) -> tuple[str, float | None] | None:
    """The last progress a job reported in its folder (for jobs whose process is elsewhere)."""
    try:
        phase, fraction = json.loads((workdir / PROGRESS_FILE).read_bytes())
    except (OSError, ValueError, TypeError):
        return None
    return (str(phase)[:40], fraction if isinstance(fraction, int | float) else None)


class _ProgressFile:
    """A `Progress` that also keeps the latest phase in the job's folder, at most once a second."""

    def __init__(self, workdir: Path, progress: Progress) -> None:
        self.path = workdir / PROGRESS_FILE
        self.progress = progress
        self._written = 0.0

    def __call__(self, phase: str, fraction: float | None) -> None:
        self.progress(phase, fraction)
        if time.monotonic() - self._written >= 1.0:
            self._written = time.monotonic()
            staging = self.path.with_name(f".{PROGRESS_FILE}.partial")
            staging.write_text(json.dumps([phase, fraction]))
            staging.replace(self.path)


def run_job(
    job: CandidateJob, progress: Progress = no_progress, evaluator: Evaluator | None = None
) -> JobOutcome:
    """Train and score every (seed, beta) of `job`; raises `ServiceUnavailable` when a service scoring
    needs (a judge) is down, which is no fault of the candidate."""
    evaluator = evaluator or job_evaluator(job)
    evaluator.prepare(progress)
    _check_readable(evaluator.readable_paths())
    limits = training_limits(job, evaluator)
    output = OutputLog(f"candidate {job.objective.name!r}")
    try:
        return _train_and_score(job, evaluator, limits, output, progress)
    finally:
        output.close()  # says in the log what of the candidate's output was dropped


def _train_and_score(
    job: CandidateJob, evaluator: Evaluator, limits: TrainingLimits, output: OutputLog, progress: Progress
) -> JobOutcome:
    """Each (seed, beta) of `job` in turn: confined training, then trusted scoring; the first failure
    ends the job."""
    results: list[SeedResult] = []
    isolation: dict[str, bool] = {}
    grid = evaluator.betas()
    for point in job.points:
        seed, beta = point.seed, grid[0] if point.beta is None else point.beta
        named = f"seed {seed}" if len(grid) == 1 else f"seed {seed}, beta {beta:g}"
        folder = job.workdir.resolve() / point.label()
        _fresh_folder(folder)
        try:
            trained = run_confined(
                _trainer_jail(job, evaluator, limits, folder),
                partial(_train, evaluator, job.objective, seed, beta, folder, job.threads, limits),
                timeout_s=limits.timeout_s,
                on_report=partial(_relay_progress, progress),
                output=output,
            )
            isolation = trained.layers
            failure = _training_failure(trained, limits)
            if failure is not None:
                return JobOutcome(failure=_one_line(f"{named}: {failure}"), isolation=isolation)
            scored = run_trusted(
                partial(_score, evaluator, folder, seed, job.threads),
                timeout_s=max(limits.timeout_s, _MIN_SCORE_TIMEOUT_S),
                on_report=partial(_relay_progress, progress),
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if (message := scored.last("unavailable")) is not None:
            raise ServiceUnavailable(str(message))
        try:
            result = SeedResult.model_validate(scored.last("result"))
        except ValidationError:
            reason = scored.last("error") or scored.ended
            failure = f"{named}: the trained policy could not be scored: {reason}"
            return JobOutcome(failure=_one_line(failure), isolation=isolation)
        results.append(result.model_copy(update={"seed": seed, "beta": beta}))
    return JobOutcome(trainings=results, isolation=isolation)


def training_limits(job: JobSettings, evaluator: Evaluator) -> TrainingLimits:
    """The limits of each of the job's trainings: the run's, else the evaluator's (once prepared,
    derived from its measured baseline), with the user's deadline in place of theirs if one is set."""
    limits = job.limits or evaluator.limits()
    if job.training_timeout is None:
        return limits
    update = {"timeout_s": job.training_timeout, "baseline_s": None, "note": "the run's training_timeout"}
    return limits.model_copy(update=update)


def job_evaluator(job: JobSettings) -> Evaluator:
    """The evaluator `job` names, built where the job runs (its module imported first, so that an
    evaluator registered outside the shipped ones is found)."""
    if job.evaluator_module:
        importlib.import_module(job.evaluator_module)
    return get_evaluator(job.evaluator, job.evaluator_options, job.cache_dir)


def _check_readable(paths: list[Path]) -> None:
    """Every input of the confined trainer must be open to the user it runs as: say which is not."""
    for path in paths:
        if path.exists() and (closed := unreadable_in_jail(path)) is not None:
            raise UserError(
                f"{closed} is not readable by other users, and confined trainers run as `nobody`: "
                f"make it readable (chmod -R o+rX {path})"
            )


def _trainer_jail(job: CandidateJob, evaluator: Evaluator, limits: TrainingLimits, folder: Path) -> Jail:
    return Jail(
        workdir=folder,
        memory_mb=limits.memory_mb,
        cpu_seconds=limits.cpu_seconds(job.threads),
        max_processes=_MAX_TRAINER_TASKS,
        max_file_mb=_MAX_FILE_MB,
        system=True,
        tmp_mb=_TRAINER_TMP_MB,
        readable=tuple(evaluator.readable_paths()),
        gpus=tuple(job.gpus),
        loopback=len(job.gpus) > 1,
        keep_stderr=True,  # copied into the worker's log, where a failed training's traceback helps
        environment=_thread_environment(job.threads) | evaluator.trainer_environment(),
    )


def _train(
    evaluator: Evaluator,
    objective: Objective,
    seed: int,
    beta: float,
    folder: Path,
    threads: int,
    limits: TrainingLimits,
    report: Report,
) -> None:
    """Inside the confined trainer: compile the candidate, train, and say that it finished."""
    import torch

    torch.set_num_threads(threads)
    try:
        evaluator.train(
            objective, seed, beta, folder, lambda phase, fraction: report({"progress": [phase, fraction]})
        )
    except ObjectiveRejected as rejected:
        report({"error": f"rejected by the static gate: {rejected}"})
        return
    except MemoryError:
        report({"error": _out_of_memory(limits)})
        return
    except RuntimeError as error:
        if "alloc" in str(error) or "out of memory" in str(error):
            report({"error": _out_of_memory(limits)})
            return
        raise
    report({"trained": True})


def _score(evaluator: Evaluator, folder: Path, seed: int, threads: int, report: Report) -> None:
    """In a forked process that never ran candidate code: the figures of what the trainer wrote."""
    import torch

    torch.set_num_threads(threads)
    try:
        result = evaluator.score(
            folder, seed, lambda phase, fraction: report({"progress": [phase, fraction]})
        )
    except ServiceUnavailable as error:
        report({"unavailable": str(error)})
        return
    except UntrustedOutput as error:
        report({"error": str(error)})
        return
    report({"result": result.model_dump(mode="json")})


def _out_of_memory(limits: TrainingLimits) -> str:
    return f"ran out of memory (limit {limits.memory_mb} MB)" if limits.memory_mb else "ran out of memory"


def _training_failure(run: ConfinedRun, limits: TrainingLimits) -> str | None:
    """None when the trainer finished; else why not, from its own report or from how it ended."""
    if run.last("trained") is True and not run.timed_out:
        return None
    if run.timed_out:
        return limits.timed_out(run.seconds)
    error = run.last("error")
    if isinstance(error, str):
        return f"training failed: {error}"
    return f"training {run.ended} before it finished"


def _relay_progress(progress: Progress, report: dict[str, Any]) -> None:
    """Pass on a child's progress report, if it is one; its values are checked, never trusted."""
    value = report.get("progress")
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        fraction = value[1] if isinstance(value[1], int | float) and 0 <= value[1] <= 1 else None
        progress(value[0][:40], fraction)


def _fresh_folder(folder: Path) -> None:
    """An empty folder the confined trainer (as `nobody` when we are root) may write into."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    writable_by_jail(folder)


def _thread_environment(threads: int) -> dict[str, str]:
    """The whole environment of a confined trainer: thread counts, quiet libraries, no secrets."""
    count = str(threads)
    return {
        "OMP_NUM_THREADS": count,
        "MKL_NUM_THREADS": count,
        "TOKENIZERS_PARALLELISM": "false",
        "TQDM_DISABLE": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": "/tmp",
    }


def _one_line(text: str) -> str:
    return " ".join(text.split())[:_MAX_REASON_CHARS]
