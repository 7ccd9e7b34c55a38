"""Evaluating candidates on this machine: a pool of warm worker processes, one per slot.

Each worker (`discovery.execution.worker`) imports torch and the evaluator once, so a candidate costs
its training and scoring, not an interpreter start. A slot owns its share of the machine: on a GPU
machine its own GPUs (`gpus_per_job` of them, `CUDA_VISIBLE_DEVICES` and device files limited to
them in the confined trainer), on CPU its share of the cores as torch threads (oversubscribed
threads cost far more than they give). A thread per busy slot talks to its worker, so the loop
submits and goes on. Workers die with the process that started them: a local job never outlives the
run, and a run that restarts finds it lost, unless it finished and left its outcome in its folder.
"""

import itertools
import os
import threading
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from discovery.errors import UserError
from discovery.execution.executor import JobState, JobStatus
from discovery.execution.job import ENDPOINT_SECRETS, CandidateJob, JobOutcome, read_outcome
from discovery.progress import Progress, no_progress
from discovery.sandbox.channel import JsonLinesProcess

_STARTUP_SECONDS = 300.0
# What one CPU worker holds besides the process it forked: torch and the evaluator (the default
# sentiment task's scorer peaks near 1 GiB too, but it runs after the trainer, not beside it).
_WORKER_GIB = 1.0
# A trainer without a memory limit is sized at what the default sentiment task's peaks near.
_UNLIMITED_TRAINER_GIB = 1.0
# Variables a trusted worker passes on to what it runs: paths, locale, caches. The confined trainer
# gets none of them (`Jail.environment` is its whole environment).
_PASSED_ON = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR")


class WorkerLost(RuntimeError):
    """The worker process died while it ran a job (killed from outside, or brought down by it)."""


@dataclass
class _Slot:
    """A worker process and the resources its jobs get."""

    threads: int
    gpus: list[int]
    worker: JsonLinesProcess | None = None
    job_id: str | None = None  # the job it runs now
    secrets: bool = False  # whether its worker was given the endpoint's key


@dataclass
class _Tracked:
    """A job this process submitted, as the slot's thread sees it."""

    state: JobState
    outcome: JobOutcome | None = None
    reason: str | None = None
    progress: tuple[str, float | None] | None = None
    listeners: list[Progress] = field(default_factory=list)


class LocalExecutor:
    """Runs candidate jobs in `slots` warm worker processes on this machine."""

    kind = "local"

    def __init__(
        self,
        slots: int = 1,
        log: Path | None = None,
        threads_per_job: int | None = None,
        gpus_per_job: int = 1,
        gpus: int | None = None,
    ) -> None:
        """`log`: where the workers' own output goes (None: nowhere). With `gpus` (default: those
        torch sees) every slot gets `gpus_per_job` of them; on CPU the cores are shared out."""
        self.log = log
        self.slots = slots
        available = _visible_gpus() if gpus is None else gpus
        if available:
            if slots * gpus_per_job > available:
                raise UserError(
                    f"{slots} workers x {gpus_per_job} GPU(s) each need {slots * gpus_per_job} GPUs; "
                    f"this machine has {available}"
                )
            share = [list(range(i * gpus_per_job, (i + 1) * gpus_per_job)) for i in range(slots)]
        else:
            share = [[] for _ in range(slots)]
        threads = threads_per_job or max(1, len(os.sched_getaffinity(0)) // slots)
        self._slots = [_Slot(threads=threads, gpus=gpus) for gpus in share]
        self._jobs: dict[str, _Tracked] = {}
        self._changed = threading.Condition()
        self._ids = itertools.count(1)

    @property
    def threads_per_job(self) -> int:
        return self._slots[0].threads

    @property
    def devices(self) -> list[list[int]]:
        """The GPUs of each slot (empty lists on CPU)."""
        return [slot.gpus for slot in self._slots]

    def submit(self, job: CandidateJob, progress: Progress = no_progress) -> str:
        """Start `job` on a free slot (the caller keeps at most `slots` jobs in flight).

        A slot's worker is started here, by the caller's thread: a worker dies with the thread that
        started it (PR_SET_PDEATHSIG follows the thread), and the slot's own thread ends with the job."""
        with self._changed:
            slot = next((slot for slot in self._slots if slot.job_id is None), None)
            if slot is None:
                raise RuntimeError("every local slot is busy: wait for a job to finish first")
            job_id = f"local-{os.getpid()}-{next(self._ids)}"
            slot.job_id = job_id
            self._jobs[job_id] = _Tracked(JobState.RUNNING, listeners=[progress])
        # a worker that holds the endpoint's key never runs a job that needs none, and vice versa
        if slot.worker is not None and (not slot.worker.alive or slot.secrets != job.calls_endpoint):
            slot.worker.close()
            slot.worker = None
        if slot.worker is None:
            slot.worker, slot.secrets = self._start(job.calls_endpoint), job.calls_endpoint
        job = job.model_copy(update={"threads": slot.threads, "gpus": slot.gpus})
        threading.Thread(target=self._run, args=(slot, job_id, job), daemon=True, name=job_id).start()
        return job_id

    def status(self, job_id: str, job: CandidateJob) -> JobStatus:
        with self._changed:
            tracked = self._jobs.get(job_id)
            if tracked is not None:
                return JobStatus(tracked.state, tracked.outcome, tracked.reason, tracked.progress)
        outcome = read_outcome(job.workdir)  # a job an earlier process ran, which may have finished
        if outcome is not None:
            return JobStatus(JobState.FINISHED, outcome=outcome)
        return JobStatus(JobState.LOST, reason="the process that ran it ended before it finished")

    def wait(self, seconds: float) -> None:
        with self._changed:
            self._changed.wait(seconds)

    def cancel(self, job_id: str) -> None:
        """Stop the worker running it (its confined processes die with it); a new one starts later."""
        with self._changed:
            slot = next((slot for slot in self._slots if slot.job_id == job_id), None)
            worker = slot.worker if slot else None
        if worker is not None:
            worker.kill()

    def evaluate(self, job: CandidateJob, progress: Progress = no_progress) -> JobOutcome:
        """Run `job` and wait for it: raises `ServiceUnavailable`, `UserError` or `WorkerLost`,
        never because of the candidate (its failures are in the outcome)."""
        job_id = self.submit(job, progress)
        while (status := self.status(job_id, job)).state is JobState.RUNNING:
            self.wait(1.0)
        if status.state is JobState.LOST:
            raise WorkerLost(f"{status.reason} (evaluating {job.objective.name})")
        outcome = status.outcome
        assert outcome is not None
        outcome.raise_for_caller()
        return outcome

    def close(self) -> None:
        for slot in self._slots:
            if slot.worker is not None:
                slot.worker.close()
                slot.worker = None

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the slot's thread ------------------------------------------------------------------------

    def _run(self, slot: _Slot, job_id: str, job: CandidateJob) -> None:
        tracked = self._jobs[job_id]
        try:
            outcome = self._exchange(slot, job, partial(self._progress, tracked))
        except WorkerLost as lost:
            self._end(slot, tracked, JobState.LOST, reason=str(lost))
        else:
            self._end(slot, tracked, JobState.FINISHED, outcome=outcome)

    def _exchange(self, slot: _Slot, job: CandidateJob, progress: Progress) -> JobOutcome:
        worker = slot.worker  # held here: `close` may take the slot's worker away meanwhile
        assert worker is not None
        if not worker.send({"job": job.model_dump(mode="json")}):
            slot.worker = None
            raise WorkerLost("the evaluation worker could not be reached")
        while True:
            answer = worker.read()
            if answer is None:
                worker.close()
                slot.worker = None
                raise WorkerLost("the evaluation worker died")
            if "progress" in answer:
                phase, fraction = answer["progress"]
                progress(phase, fraction)
            elif "outcome" in answer:
                return JobOutcome.model_validate(answer["outcome"])
            else:  # the worker refused the request (`JsonLinesServer`): a job it cannot run is lost
                raise WorkerLost(f"the evaluation worker refused the job: {answer.get('error')}")

    def _progress(self, tracked: _Tracked, phase: str, fraction: float | None) -> None:
        tracked.progress = (phase, fraction)
        for listener in tracked.listeners:
            listener(phase, fraction)

    def _end(
        self,
        slot: _Slot,
        tracked: _Tracked,
        state: JobState,
        outcome: JobOutcome | None = None,
        reason: str | None = None,
    ) -> None:
        with self._changed:
            tracked.state, tracked.outcome, tracked.reason = state, outcome, reason
            slot.job_id = None
            self._changed.notify_all()

    def _start(self, secrets: bool) -> JsonLinesProcess:
        """A worker, given the endpoint's key only with `secrets` (its evaluator calls one)."""
        passed = _PASSED_ON + ENDPOINT_SECRETS if secrets else _PASSED_ON
        environment = {name: os.environ[name] for name in passed if name in os.environ}
        environment |= {"PYTHONDONTWRITEBYTECODE": "1", "TOKENIZERS_PARALLELISM": "false"}
        environment |= {
            name: value for name, value in os.environ.items() if name.startswith(("HF_", "DISCOVER_"))
        }
        return JsonLinesProcess(
            "discovery.execution.worker", [], environment, os.getcwd(), _STARTUP_SECONDS, self.log
        )


def default_slots(gpus_per_job: int = 1, trainer_memory_mb: int | None = None) -> int:
    """Jobs this machine runs at once when the user did not say: one per `gpus_per_job` GPUs; on
    CPU one per core, each on one torch thread, as far as memory allows. Single-threaded jobs side by
    side finish more work than one job on every core (`benchmarks/bench_throughput.py`), and the
    figures do not depend on the thread count (`benchmarks/bench_threads.py`).

    Memory is shared out by the limit each trainer is given (`trainer_memory_mb`), not by what an
    honest one uses: a candidate may take all of its limit, and one that takes more than its share
    while the others do too would drive the machine into swap."""
    if available := _visible_gpus():
        return max(1, available // gpus_per_job)
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    trainer_gib = _UNLIMITED_TRAINER_GIB if trainer_memory_mb is None else trainer_memory_mb / 1024
    return max(1, min(len(os.sched_getaffinity(0)), int(memory_gib // (_WORKER_GIB + trainer_gib))))


def _visible_gpus() -> int:
    """GPUs this process may use, without starting CUDA (workers fork later)."""
    import torch

    return torch.cuda.device_count()
