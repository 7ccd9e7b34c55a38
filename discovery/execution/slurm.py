"""Evaluating candidates on a Slurm cluster: one Slurm job per candidate evaluation, through submitit.

submitit writes the batch script, submits it and cancels it; nothing here writes `sbatch` text.
On the node the job runs `discovery.execution.job.run_job_on_node`: the same confined training and
trusted scoring as on this machine, leaving its outcome in the candidate's job folder (which must
lie on a file system the nodes share with this one, as the runs folder does on a cluster).

A job's state comes from that folder first (an outcome means finished), then from `squeue` (queued or
running), then from `sacct` where the cluster keeps accounting (why it ended). A job that left the
queue without an outcome is lost: preempted, timed out, cancelled, or its node failed; the loop
resubmits it up to `max_resubmits` times. Slurm's own requeue (`scontrol requeue`, preemption with
requeue) keeps the job id, and the job simply runs again.
"""

import subprocess
from pathlib import Path
from typing import Any

from discovery.config import SlurmSettings
from discovery.errors import UserError
from discovery.execution.executor import JobState, JobStatus
from discovery.execution.job import (
    ENDPOINT_SECRETS,
    CandidateJob,
    read_outcome,
    read_progress,
    run_job_on_node,
)

_QUEUED = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SUSPENDED"}
_RUNNING = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING"}
_POLL_SECONDS = 2.0


class SlurmExecutor:
    """Submits candidate jobs to Slurm through submitit; logs go to `folder` (`<run>/slurm/`)."""

    kind = "slurm"

    def __init__(self, settings: SlurmSettings, folder: Path, slots: int) -> None:
        import submitit

        self.settings = settings
        self.slots = slots
        self.folder = Path(folder)
        self._executor = submitit.SlurmExecutor(folder=str(self.folder / "%j"))
        self._executor.update_parameters(**self._parameters())

    def check(self) -> None:
        """Ask Slurm whether it would take such a job (`sbatch --test-only`, nothing is submitted):
        a bad partition, account or QOS is one line before the run starts, not in the middle of it."""
        options = [f"--{key}={value}" for key, value in self._sbatch_options().items()]
        try:
            found = subprocess.run(
                ["sbatch", "--test-only", *options, "--wrap", "true"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise UserError(f"cannot reach Slurm (sbatch): {error}") from error
        if found.returncode != 0:
            said = [line.removeprefix("sbatch: error: ") for line in found.stderr.strip().splitlines()]
            raise UserError(f"Slurm refused the job: {said[-1] if said else 'sbatch --test-only failed'}")

    def submit(self, job: CandidateJob) -> str:
        resources = {"threads": self.settings.cpus_per_job, "gpus": list(range(self.settings.gpus_per_job))}
        job = job.model_copy(update=resources)
        self._executor.update_parameters(job_name=f"discover-{job.workdir.name}", setup=self._setup(job))
        try:
            submitted = self._executor.submit(run_job_on_node, job.model_dump_json())
        except Exception as error:  # submitit raises what sbatch said: a bad partition, account, ...
            message = " ".join(str(error).split())[:400]
            raise UserError(f"Slurm refused the job: {message}") from error
        return str(submitted.job_id)

    def _setup(self, job: CandidateJob) -> list[str]:
        """The user's setup lines, then, unless the job's evaluator calls an endpoint, the endpoint's
        secrets unset: a job inherits the submitting shell's environment, and its process must never
        hold a key the trainers it forks could find."""
        unset = [] if job.calls_endpoint else [f"unset {' '.join(ENDPOINT_SECRETS)}"]
        return [*self.settings.setup, *unset]

    def status(self, job_id: str, job: CandidateJob) -> JobStatus:
        outcome = read_outcome(job.workdir)
        if outcome is not None:
            return JobStatus(JobState.FINISHED, outcome=outcome)
        queued = _squeue_state(job_id)
        if queued in _QUEUED:
            return JobStatus(JobState.QUEUED)
        if queued in _RUNNING:
            return JobStatus(JobState.RUNNING, progress=read_progress(job.workdir))
        outcome = read_outcome(job.workdir)  # it may have finished between the two looks
        if outcome is not None:
            return JobStatus(JobState.FINISHED, outcome=outcome)
        ended = _sacct_state(job_id) or queued
        why = f" ({ended})" if ended else ""
        return JobStatus(
            JobState.LOST,
            reason=f"Slurm job {job_id} left the queue without a result{why}: preempted, timed out, "
            f"cancelled or its node failed; log in {self.folder / job_id}",
        )

    def wait(self, seconds: float) -> None:
        import time

        time.sleep(min(seconds, _POLL_SECONDS))

    def cancel(self, job_id: str) -> None:
        subprocess.run(["scancel", job_id], capture_output=True, check=False, timeout=60)

    def close(self) -> None:
        """Jobs stay on the cluster; `discover run --resume` finds them again."""

    def _sbatch_options(self) -> dict[str, str]:
        """The job's resources as sbatch spells them."""
        settings = self.settings
        options = {
            "time": str(settings.time_limit_min),
            "cpus-per-task": str(settings.cpus_per_job),
            "partition": settings.partition,
            "account": settings.account,
            "qos": settings.qos,
            "gpus-per-node": str(settings.gpus_per_job) if settings.gpus_per_job else None,
            "mem": f"{int(settings.mem_gb * 1024)}M" if settings.mem_gb else None,
            **settings.extra_sbatch,
        }
        return {key: value for key, value in options.items() if value is not None}

    def _parameters(self) -> dict[str, Any]:
        settings = self.settings
        parameters: dict[str, Any] = {
            "time": settings.time_limit_min,
            "cpus_per_task": settings.cpus_per_job,
            "ntasks_per_node": 1,
            "nodes": 1,
            "setup": settings.setup,
            "additional_parameters": dict(settings.extra_sbatch),
        }
        optional = {
            "partition": settings.partition,
            "account": settings.account,
            "qos": settings.qos,
            "gpus_per_node": settings.gpus_per_job or None,
            "mem": f"{int(settings.mem_gb * 1024)}MB" if settings.mem_gb else None,
        }
        return parameters | {key: value for key, value in optional.items() if value is not None}


def _squeue_state(job_id: str) -> str | None:
    """The job's state in the queue (PENDING, RUNNING, ...), or None when it is not in it."""
    try:
        found = subprocess.run(
            ["squeue", "-h", "-j", job_id, "-o", "%T"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UserError(f"cannot ask Slurm about job {job_id}: {error}") from error
    state = found.stdout.strip().splitlines()
    return state[0].strip() if found.returncode == 0 and state else None


def _sacct_state(job_id: str) -> str | None:
    """How the job ended, where the cluster keeps accounting (PREEMPTED, TIMEOUT, ...); else None."""
    try:
        found = subprocess.run(
            ["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    states = found.stdout.strip().splitlines()
    return states[0].split()[0] if found.returncode == 0 and states else None
