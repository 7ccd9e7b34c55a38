"""The caller's side of the sandbox: `Validator` keeps one warm worker and turns its answers into
`Verdict`s, `Curves` and the figures compared with TRL's losses.

The worker runs in its own process started with a scrubbed environment, so the caller (the discovery
loop, with an LLM client and perhaps a UI running) is never forked and never executes candidate code.
If the worker dies or stops answering, the candidate is rejected and a fresh worker is started for
the next one.

The worker's scratch folder is named after the process that made it; a process killed before it
could remove its own (SIGKILL) leaves it behind, and the next Validator removes it.
"""

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from discovery.processes import process_alive
from discovery.sandbox.channel import HelperUnavailable, JsonLinesProcess
from discovery.sandbox.verdict import Curves, Probe, Verdict

_SCRATCH_PREFIX = "discover-sandbox-"

_STARTUP_SECONDS = 180.0
_ANSWER_SLACK_SECONDS = 30.0
# The worker's whole environment: nothing of the caller's (API keys above all) reaches it.
_WORKER_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
                       "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # fmt: skip


class FiguresUnavailable(ValueError):
    """Figures of the objective could not be computed (rejected by the gate, raised, wrong shape)."""


class CurvesUnavailable(FiguresUnavailable):
    """The objective's curves could not be computed."""


class Validator:
    """Validates candidates one at a time in a warm worker that runs each in a fresh confined child.

    Use as a context manager (or call `close`); starting the worker imports torch, so create one
    Validator and keep it for the whole run. Fingerprints and beta profiles are measured on `probe`
    (a run passes its training batch size and a seed of its own), so they compare only between
    candidates validated with the same probe.
    """

    def __init__(self, timeout_s: float = 5.0, memory_mb: int = 1024, probe: Probe | None = None):
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.probe = probe or Probe()
        self._lock = threading.Lock()
        self._worker: JsonLinesProcess | None = None
        self._scratch = ""
        self._start()

    def validate(self, source: str) -> Verdict:
        """Static gate, then confined run with the functional checks, fingerprint and behaviour."""
        start = time.perf_counter()
        probe = self.probe.model_dump()
        answer = self._ask(
            {"validate": source, "timeout_s": self.timeout_s, "memory_mb": self.memory_mb, "probe": probe}
        )
        if answer is None or "ok" not in answer:  # died, or refused the request (`JsonLinesServer`)
            why = "died while running it" if answer is None else f"refused it: {answer.get('error')}"
            reason = f"the sandbox worker {why}"
            answer = {"ok": False, "stage": "runtime", "reason": reason, "fingerprint": None}
        return Verdict(**answer, seconds=time.perf_counter() - start)

    def curves(self, source: str, beta: float, points: int = 201) -> Curves:
        """Loss and gradient of the objective against the margin rho over [-10/beta, +10/beta]."""
        answer = self._ask({"curves": source, "beta": beta, "points": points, "timeout_s": self.timeout_s})
        if answer is None or "curves" not in answer:
            raise CurvesUnavailable(answer.get("error") if answer else "the sandbox worker died")
        return Curves.model_validate(answer["curves"])

    def comparison(self, source: str) -> list[float]:
        """Losses and gradients on the batches it is compared with TRL's losses on
        (`discovery.sandbox.checks.comparison`); raises `FiguresUnavailable`."""
        answer = self._ask({"comparison": source, "timeout_s": self.timeout_s})
        if answer is None or "comparison" not in answer:
            raise FiguresUnavailable(answer.get("error") if answer else "the sandbox worker died")
        return answer["comparison"]

    def close(self) -> None:
        """Stop the worker and remove its scratch folder."""
        with self._lock:
            self._stop()

    def __enter__(self) -> "Validator":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ask(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The worker's answer, or None when it died (it is then replaced for the next request)."""
        with self._lock:
            if self._worker is None or not self._worker.alive:
                self._stop()
                self._start()
            assert self._worker is not None
            deadline = time.monotonic() + request["timeout_s"] + _ANSWER_SLACK_SECONDS
            answer = self._worker.read(deadline) if self._worker.send(request) else None
            if answer is None:
                self._stop()
            return answer

    def _start(self) -> None:
        _remove_orphaned_scratch()
        self._scratch = tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-")
        environment = _WORKER_ENVIRONMENT | {"HOME": self._scratch}
        try:
            self._worker = JsonLinesProcess(
                "discovery.sandbox.worker", [self._scratch], environment, self._scratch, _STARTUP_SECONDS
            )
        except HelperUnavailable:
            shutil.rmtree(self._scratch, ignore_errors=True)
            raise

    def _stop(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = ""


def _remove_orphaned_scratch() -> None:
    """Remove the scratch folders (ours, by user) of processes that are gone."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_SCRATCH_PREFIX}*-*"):
        owner = folder.name.removeprefix(_SCRATCH_PREFIX).split("-", 1)[0]
        try:
            mine = folder.stat().st_uid == os.getuid()
        except OSError:
            continue  # removed meanwhile
        if owner.isdigit() and mine and not process_alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)


def validate_source(source: str, timeout_s: float = 5.0, memory_mb: int = 1024) -> Verdict:
    """Validate one candidate with a worker started for it (slow start; reuse a `Validator` for many)."""
    with Validator(timeout_s=timeout_s, memory_mb=memory_mb) as validator:
        return validator.validate(source)
