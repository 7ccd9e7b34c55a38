"""The warm evaluation worker: `python -m discovery.execution.worker`, one per local execution slot.

It imports what an evaluator needs once, keeps built evaluators between jobs, and runs each job
with `run_job` (confined training, trusted scoring, each in a forked child). It never runs
parallel torch work itself, so every fork stays safe. Requests and answers are JSON lines on stdin /
a private copy of stdout: `{"job": ...}` in; `{"progress": [phase, fraction]}` lines, then
`{"outcome": ...}` out. The outcome is also left in the job's folder, like a cluster job's.
"""

import json
import os
import sys
from typing import Any, TextIO

from discovery.errors import UserError
from discovery.execution.job import (
    CandidateJob,
    JobOutcome,
    job_evaluator,
    run_job_to_file,
    settle_job_process,
)
from discovery.sandbox.process import die_with_parent
from evaluators import Evaluator


class Worker:
    """Runs jobs; evaluators are built once per (evaluator, options, cache folder)."""

    def __init__(self, answers: TextIO) -> None:
        self.answers = answers
        self._evaluators: dict[str, Evaluator] = {}

    def serve(self, line: str) -> None:
        job = CandidateJob.model_validate(json.loads(line)["job"])
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

    def _send(self, message: dict[str, Any]) -> None:
        self.answers.write(json.dumps(message) + "\n")
        self.answers.flush()


def main() -> None:
    """Serve jobs until stdin closes."""
    die_with_parent()
    settle_job_process()
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stray prints go to the log, never into the answers
    worker = Worker(answers)
    worker._send({"ready": True})
    for line in sys.stdin:
        worker.serve(line)


if __name__ == "__main__":
    main()
