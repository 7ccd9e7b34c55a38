"""Evaluating candidates on this machine: a warm worker process per slot.

The worker (`discovery.execution.worker`) imports torch and the evaluator once, so a candidate costs
its training and scoring, not an interpreter start. Its log (library warnings, tracebacks) goes to a
file; what it answers is read here. A worker that dies while a job runs is replaced, and the job's
caller is told (`WorkerLost`), since the death may be the candidate's doing.
"""

import os
from pathlib import Path

from discovery.errors import ServiceUnavailable, UserError
from discovery.execution.job import CandidateJob, JobOutcome
from discovery.progress import Progress, no_progress
from discovery.sandbox.channel import JsonLinesProcess

_STARTUP_SECONDS = 300.0
# Variables a trusted worker passes on to what it runs: paths, locale, caches, and the keys a judge
# needs. The confined trainer gets none of them (`Jail.environment` is its whole environment).
_PASSED_ON = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "OPENAI_API_KEY", "OPENAI_BASE_URL")


class WorkerLost(RuntimeError):
    """The worker process died while it ran a job (killed from outside, or brought down by it)."""


class LocalExecutor:
    """Runs candidate jobs, one at a time, in a warm worker process on this machine."""

    def __init__(self, log: Path | None = None) -> None:
        """`log`: where the worker's own output goes (None: nowhere)."""
        self.log = log
        self._worker: JsonLinesProcess | None = None

    def evaluate(self, job: CandidateJob, progress: Progress = no_progress) -> JobOutcome:
        """Train and score `job`; raises `ServiceUnavailable` or `WorkerLost`, never for a bad candidate."""
        if self._worker is None or not self._worker.alive:
            self._start()
        assert self._worker is not None
        if not self._worker.send({"job": job.model_dump(mode="json")}):
            self._stop()
            raise WorkerLost("the evaluation worker could not be reached")
        while True:
            answer = self._worker.read()
            if answer is None:
                self._stop()
                raise WorkerLost(f"the evaluation worker died while it evaluated {job.objective.name}")
            if "progress" in answer:
                phase, fraction = answer["progress"]
                progress(phase, fraction)
            elif "unavailable" in answer:
                raise ServiceUnavailable(answer["unavailable"])
            elif "user_error" in answer:
                raise UserError(answer["user_error"])
            else:
                return JobOutcome.model_validate(answer["outcome"])

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(self) -> None:
        environment = {name: os.environ[name] for name in _PASSED_ON if name in os.environ}
        environment |= {"PYTHONDONTWRITEBYTECODE": "1", "TOKENIZERS_PARALLELISM": "false"}
        environment |= {
            name: value for name, value in os.environ.items() if name.startswith(("HF_", "DISCOVER_"))
        }
        self._worker = JsonLinesProcess(
            "discovery.execution.worker", [], environment, os.getcwd(), _STARTUP_SECONDS, self.log
        )

    def _stop(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None
