"""What the loop asks of any executor: submit a candidate's job, say where it stands, cancel it.

Executors never decide anything about candidates: they run jobs (`discovery.execution.job`) and
report their states. A finished job leaves its outcome in its folder (`job.OUTCOME_FILE`), so the
outcome of a job outlives the process that submitted it: `discover run --resume` collects finished
jobs, keeps waiting for queued or running ones, and resubmits the ones the executor lost.
"""

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from discovery.execution.job import CandidateJob, JobOutcome


class JobState(str, Enum):
    QUEUED = "queued"  # submitted, waiting for resources
    RUNNING = "running"
    FINISHED = "finished"  # its outcome is in its folder
    LOST = "lost"  # gone without an outcome: preempted, timed out, cancelled, its process killed


@dataclass(frozen=True)
class JobStatus:
    """Where a job stands; `outcome` once finished, `reason` once lost, its last progress if known."""

    state: JobState
    outcome: JobOutcome | None = None
    reason: str | None = None
    progress: tuple[str, float | None] | None = None


class Executor(Protocol):
    """Runs candidate jobs somewhere: this machine's workers, or a cluster's nodes."""

    kind: str
    slots: int  # jobs it runs at once; the loop keeps at most this many in flight

    def submit(self, job: CandidateJob) -> str:
        """Start `job`; returns the id to find it again, which the loop stores before going on."""
        ...

    def status(self, job_id: str, job: CandidateJob) -> JobStatus:
        """Where the job stands now (also for a job submitted by an earlier process)."""
        ...

    def wait(self, seconds: float) -> None:
        """Block until a job may have changed state, at most `seconds`."""
        ...

    def cancel(self, job_id: str) -> None:
        """Stop the job (a no-op for one that already ended)."""
        ...

    def close(self) -> None:
        """Let go of local resources; jobs on a cluster keep running unless cancelled."""
        ...
