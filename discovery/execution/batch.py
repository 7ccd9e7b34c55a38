"""A batch of jobs through any executor, its slots kept busy: for work that is not the loop's
(held-out transfer, benchmarks), where none depends on another's outcome. The jobs may come from an
iterator that is still making them (a task still being built): a slot takes the next when it frees."""

from collections.abc import Callable, Iterable, Iterator

from discovery.execution.executor import Executor, JobState
from discovery.execution.job import CandidateJob, JobOutcome

_POLL_SECONDS = 1.0


def run_batch(
    executor: Executor,
    jobs: Iterable[CandidateJob],
    on_outcome: Callable[[CandidateJob, JobOutcome], None],
    resubmits: int = 1,
) -> None:
    """Run `jobs`, at most `executor.slots` at once, calling `on_outcome` as each ends (in the
    caller's thread). A job the executor loses is submitted again, `resubmits` times, then ends as a
    failure; a job whose service or input is unusable raises, as the loop's would."""
    fresh = iter(jobs)
    waiting: list[tuple[CandidateJob, int]] = []
    running: dict[str, tuple[CandidateJob, int]] = {}
    while True:
        while len(running) < executor.slots and (waiting or _take(fresh, waiting)):
            job, lost = waiting.pop(0)
            job.workdir.mkdir(parents=True, exist_ok=True)
            running[executor.submit(job)] = (job, lost)
        if not running:  # nothing waits and the iterator has no job left
            return
        ended = False
        for job_id, (job, lost) in list(running.items()):
            status = executor.status(job_id, job)
            if status.state in (JobState.QUEUED, JobState.RUNNING):
                continue
            del running[job_id]
            ended = True
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
        if not ended:
            executor.wait(_POLL_SECONDS)


def _take(fresh: Iterator[CandidateJob], waiting: list[tuple[CandidateJob, int]]) -> bool:
    """Move the iterator's next job to `waiting`; False once it has none left."""
    job = next(fresh, None)
    if job is not None:
        waiting.append((job, 0))
    return job is not None
