"""The caller's side of the sandbox: `Validator` keeps one warm worker and turns its answers into `Verdict`s.

The worker runs in its own process started with a scrubbed environment, so the caller (the discovery
loop, with an LLM client and perhaps a UI running) is never forked and never executes candidate code.
If the worker dies or stops answering, the candidate is rejected and a fresh worker is started for
the next one.
"""

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from discovery.sandbox.verdict import Verdict

_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
_STARTUP_SECONDS = 180.0
_ANSWER_SLACK_SECONDS = 30.0


class WorkerUnavailable(RuntimeError):
    """The sandbox worker could not be started (it reports nothing about a candidate)."""


class Validator:
    """Validates candidates one at a time in a warm worker that forks a fresh confined child for each.

    Use as a context manager (or call `close`); starting the worker imports torch, so create one
    Validator and keep it for the whole run.
    """

    def __init__(self, timeout_s: float = 5.0, memory_mb: int = 1024):
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.isolation: dict[str, bool] = {}  # which optional confinement layers the last child got
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._scratch = ""
        self._buffer = b""
        self._start()

    def validate(self, source: str) -> Verdict:
        """Static gate, then confined run with the functional checks and the fingerprint."""
        return self._ask(source, gate=True)

    def probe_containment(self, source: str) -> Verdict:
        """Run `source` WITHOUT the static gate and with the real builtins, to demonstrate that the
        runtime confinement holds on its own. For tests of the sandbox only; never for candidates."""
        return self._ask(source, gate=False)

    @property
    def worker_pid(self) -> int | None:
        """Process id of the warm worker (None while none runs), for monitoring it."""
        return self._process.pid if self._process is not None else None

    def close(self) -> None:
        """Stop the worker and remove its scratch folder."""
        with self._lock:
            self._stop()

    def __enter__(self) -> "Validator":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ask(self, source: str, gate: bool) -> Verdict:
        start = time.perf_counter()
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._stop()
                self._start()
            request = {
                "source": source,
                "gate": gate,
                "timeout_s": self.timeout_s,
                "memory_mb": self.memory_mb,
            }
            answer = self._exchange(request)
            if answer is None:
                self._stop()
                answer = {
                    "ok": False,
                    "stage": "runtime",
                    "reason": "the sandbox worker died while running it",
                    "fingerprint": None,
                }
        self.isolation = answer.pop("layers", self.isolation)
        return Verdict(**answer, seconds=time.perf_counter() - start)

    def _exchange(self, request: dict) -> dict | None:
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write((json.dumps(request) + "\n").encode())
            self._process.stdin.flush()
        except OSError:
            return None
        line = self._read_line(time.monotonic() + self.timeout_s + _ANSWER_SLACK_SECONDS)
        return json.loads(line) if line else None

    def _read_line(self, deadline: float) -> bytes | None:
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(remaining, 0))
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _start(self) -> None:
        self._scratch = tempfile.mkdtemp(prefix="discover-sandbox-")
        environment = {
            "PATH": os.defpath,
            "LANG": "C.UTF-8",
            "HOME": self._scratch,
            "PYTHONPATH": _PROJECT_ROOT,
            "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        self._buffer = b""
        self._process = subprocess.Popen(
            [sys.executable, "-m", "discovery.sandbox.worker", self._scratch],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environment,
            cwd=self._scratch,
        )
        if self._read_line(time.monotonic() + _STARTUP_SECONDS) is None:
            self._stop()
            raise WorkerUnavailable("the sandbox worker did not start (is torch importable?)")

    def _stop(self) -> None:
        if self._process is not None:
            if self._process.stdin:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout:
                self._process.stdout.close()
            self._process = None
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = ""


def validate_source(source: str, timeout_s: float = 5.0, memory_mb: int = 1024) -> Verdict:
    """Validate one candidate with a worker started for it (slow start; reuse a `Validator` for many)."""
    with Validator(timeout_s=timeout_s, memory_mb=memory_mb) as validator:
        return validator.validate(source)
