"""A warm helper process spoken to in JSON lines: the sandbox's validator and the evaluation worker.

The caller (`JsonLinesProcess`) starts it once (importing torch costs seconds), sends one JSON object
per request and reads JSON objects back, one per line, with a deadline. A helper that dies or stops
answering is noticed, never waited on forever; the next request starts a fresh one.

The helper (`JsonLinesServer`) dies with its caller, says when it is ready, and answers each request
until its stdin closes; a request it cannot read is answered with an error, and the next is served.
"""

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from pydantic import TypeAdapter, ValidationError

from discovery.errors import UserError
from discovery.sandbox.process import die_with_parent

PROJECT_ROOT = str(Path(__file__).resolve().parents[2])

Request = TypeVar("Request")


class HelperUnavailable(RuntimeError):
    """The helper process could not be started, or died while answering."""


class JsonLinesProcess:
    """`python -m MODULE ARGS...`, spoken to on stdin / stdout; its stderr goes to a log file or nowhere."""

    def __init__(
        self,
        module: str,
        args: list[str],
        environment: dict[str, str],
        cwd: str,
        startup_s: float,
        log: Path | None = None,
    ) -> None:
        """Start the helper and wait (up to `startup_s`) for its first line, which says it is ready;
        a log that cannot be written (read-only media) is one line, before anything starts."""
        self._buffer = b""
        with _open_log(log) as stderr:
            self._process = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env={"PYTHONPATH": PROJECT_ROOT, **environment},
                cwd=cwd,
            )
        if self.read(time.monotonic() + startup_s) is None:
            self.close()
            raise HelperUnavailable(f"the {module} helper did not start (is torch importable?)")

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def send(self, message: dict[str, Any]) -> bool:
        """Write one request; False when the helper is gone."""
        assert self._process.stdin is not None
        try:
            self._process.stdin.write((json.dumps(message) + "\n").encode())
            self._process.stdin.flush()
        except OSError:
            return False
        return True

    def read(self, deadline: float | None = None) -> dict[str, Any] | None:
        """The next JSON object it writes; None at the deadline, when it died, or when another
        thread closed it meanwhile (a run shutting down while a job's thread still listens)."""
        assert self._process.stdout is not None
        while b"\n" not in self._buffer:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0)
            try:
                fd = self._process.stdout.fileno()
                ready, _, _ = select.select([fd], [], [], remaining)
                chunk = os.read(fd, 65536) if ready else b""
            except (OSError, ValueError):  # its pipe was closed under us
                return None
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def kill(self) -> None:
        """Stop it at once (whatever it is doing); a reader waiting on it then sees it died."""
        self._process.kill()

    def close(self) -> None:
        """Close its stdin (it then exits by itself) and make sure it is gone."""
        if self._process.stdin:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout:
            self._process.stdout.close()


class JsonLinesServer:
    """The helper's side: JSON lines out on a private copy of stdout, requests in from stdin."""

    def __init__(self, stray_output: int) -> None:
        """Die with the caller, and keep stdout for the answers: whatever else the process prints
        (a library's warning, a stray `print`) goes to the file descriptor `stray_output`, so that it
        cannot corrupt them."""
        die_with_parent()
        self._answers = os.fdopen(os.dup(1), "w")
        os.dup2(stray_output, 1)

    def send(self, message: dict[str, Any]) -> None:
        """Write one JSON line to the caller."""
        self._answers.write(json.dumps(message) + "\n")
        self._answers.flush()

    def serve(self, requests: TypeAdapter[Request], handle: Callable[[Request], None]) -> None:
        """Say it is ready, then `handle` each line of stdin that `requests` reads until stdin closes
        (`handle` sends the answers). A line that is no such request is answered `{"error": why}`
        and the helper serves the next: a bad request costs no warm helper."""
        self.send({"ready": True})
        for line in sys.stdin:
            try:
                request = requests.validate_json(line)
            except ValidationError as error:  # JSON that does not parse is one too
                first = error.errors(include_url=False)[0]
                where = ".".join(map(str, first["loc"]))
                self.send({"error": f"bad request: {where + ': ' if where else ''}{first['msg']}"})
                continue
            handle(request)


def _open_log(log: Path | None) -> BinaryIO:
    """Where a helper's stderr goes: `log`, appended to, or nowhere."""
    try:
        return open(log, "ab") if log is not None else open(os.devnull, "wb")
    except OSError as error:
        raise UserError(f"cannot write the log {log}: {error.strerror}") from error
