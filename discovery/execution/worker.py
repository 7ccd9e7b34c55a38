"""The warm evaluation worker: `python -m discovery.execution.worker`, one per local execution slot.

It imports what an evaluator needs once, keeps built evaluators between jobs, and runs each job
with `run_job` (confined training, trusted scoring, each in a forked child). It never runs
parallel torch work itself, so every fork stays safe. Requests and answers are JSON lines on stdin /
a private copy of stdout (`JsonLinesServer`): `{"job": ...}` in; `{"progress": [phase, fraction]}`
lines, then `{"outcome": ...}` out. The outcome is also left in the job's folder, like a cluster job's.
"""

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter

from discovery.errors import UserError
from discovery.execution.job import (
    CandidateJob,
    JobOutcome,
    job_evaluator,
    run_job_to_file,
    settle_job_process,
)
from discovery.sandbox.channel import JsonLinesServer
from evaluators import Evaluator


class JobRequest(BaseModel):
    """What `LocalExecutor` sends: one job to run."""

    job: CandidateJob


class Worker:
    """Runs jobs; evaluators are built once per (evaluator, options, cache folder)."""

    def __init__(self, send: Callable[[dict[str, Any]], None]) -> None:
        self._send = send
        self._evaluators: dict[str, Evaluator] = {}

    def serve(self, request: JobRequest) -> None:
        job = request.job
        try:
            evaluator = self._evaluator(job)
        except UserError as error:  # options that no longer validate, a module that is gone
            outcome = JobOutcome(user_error=str(error))
        else:
            outcome = run_job_to_file(job, self._progress, evaluator)
        self._send({"outcome": outcome.model_dump(mode="json")})

    def _evaluator(self, job: CandidateJob) -> Evaluator:
        key = json.dumps([job.evaluator, job.evaluator_options, str(job.cache_dir)], sort_keys=True)
        if key not in self._evaluators:
            self._evaluators[key] = job_evaluator(job)
        return self._evaluators[key]

    def _progress(self, phase: str, fraction: float | None) -> None:
        self._send({"progress": [phase, fraction]})


def main() -> None:
    """Serve jobs until stdin closes; stray prints go to the log, never into the answers."""
    server = JsonLinesServer(stray_output=2)
    settle_job_process()
    server.serve(TypeAdapter(JobRequest), Worker(server.send).serve)


if __name__ == "__main__":
    main()
