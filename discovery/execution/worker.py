"""The warm evaluation worker: `python -m discovery.execution.worker`, one per local execution slot.

It imports what an evaluator needs once, keeps built evaluators between jobs, and runs each job
with `run_job` (confined training, trusted scoring, each in a forked child). It never runs
parallel torch work itself, so every fork stays safe. Requests and answers are JSON lines on stdin /
a private copy of stdout: `{"job": ...}` in; `{"progress": [phase, fraction]}` lines, then one of
`{"outcome": ...}`, `{"unavailable": message}` (a service scoring needs is down) or
`{"user_error": message}` (something the user must fix, such as an unreadable model folder) out.
"""

import importlib
import json
import os
import sys
from typing import Any, TextIO

from discovery.errors import ServiceUnavailable, UserError
from discovery.execution.job import CandidateJob, run_job
from discovery.sandbox.process import die_with_parent
from evaluators import Evaluator, get_evaluator


class Worker:
    """Runs jobs; evaluators are built once per (evaluator, options, cache folder)."""

    def __init__(self, answers: TextIO) -> None:
        self.answers = answers
        self._evaluators: dict[str, Evaluator] = {}

    def serve(self, line: str) -> None:
        job = CandidateJob.model_validate(json.loads(line)["job"])
        try:
            outcome = run_job(job, self._progress, self._evaluator(job))
        except ServiceUnavailable as error:
            self._send({"unavailable": str(error)})
            return
        except UserError as error:  # the machine or the task needs fixing, not the candidate
            self._send({"user_error": str(error)})
            return
        self._send({"outcome": outcome.model_dump(mode="json")})

    def _evaluator(self, job: CandidateJob) -> Evaluator:
        key = json.dumps([job.evaluator, job.evaluator_options, str(job.cache_dir)], sort_keys=True)
        if key not in self._evaluators:
            if job.evaluator_module:
                importlib.import_module(job.evaluator_module)  # registers evaluators defined outside
            self._evaluators[key] = get_evaluator(job.evaluator, job.evaluator_options, job.cache_dir)
        return self._evaluators[key]

    def _progress(self, phase: str, fraction: float | None) -> None:
        self._send({"progress": [phase, fraction]})

    def _send(self, message: dict[str, Any]) -> None:
        self.answers.write(json.dumps(message) + "\n")
        self.answers.flush()


def main() -> None:
    """Serve jobs until stdin closes."""
    import torch

    from discovery.quiet import quiet_libraries

    die_with_parent()
    torch.set_num_threads(1)  # forked trainers and scorers set their own; this process never computes
    quiet_libraries()
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stray prints go to the log, never into the answers
    worker = Worker(answers)
    worker._send({"ready": True})
    for line in sys.stdin:
        worker.serve(line)


if __name__ == "__main__":
    main()
