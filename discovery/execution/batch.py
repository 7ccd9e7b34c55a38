"""A fixed batch of jobs through any executor, its slots kept busy: for work that is not the loop's
(held-out transfer, benchmarks), where every job is known up front and none depends on another."""

from collections.abc import Callable

from discovery.execution.executor import Executor, JobState
from discovery.execution.job import CandidateJob, JobOutcome

_POLL_SECONDS = 1.0


def run_batch(
    executor: Executor,
    jobs: list[CandidateJob],
    on_outcome: Callable[[CandidateJob, JobOutcome], None],
    resubmits: int = 1,
) -> None:
    """Run `jobs`, at most `executor.slots` at once, calling `on_outcome` as each ends (in the
    caller's thread). A job the executor loses is submitted again, `resubmits` times, then ends as a
    failure; a job whose service or input is unusable raises, as the loop's would."""
    waiting = [(job, 0) for job in jobs]
    running: dict[str, tuple[CandidateJob, int]] = {}
    while waiting or running:
        while waiting and len(running) < executor.slots:
            job, lost = waiting.pop(0)
            job.workdir.mkdir(parents=True, exist_ok=True)
            running[executor.submit(job)] = (job, lost)
        for job_id, (job, lost) in list(running.items()):
            status = executor.status(job_id, job)
            if status.state in (JobState.QUEUED, JobState.RUNNING):
                continue
            del running[job_id]
            if status.state is JobState.LOST:
                if lost < resubmits:
                    waiting.insert(0, (job, lost + 1))
                else:
                    on_outcome(job, JobOutcome(failure=f"its job was lost {lost + 1} times: {status.reason}"))
                continue
            outcome = status.outcome
            assert outcome is not None
            outcome.raise_for_caller()
            on_outcome(job, outcome)
        if running:
            executor.wait(_POLL_SECONDS)
