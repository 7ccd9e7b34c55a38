"""Run a function in a confined child process, kill it at a wall-clock deadline, read what it reports.

The caller (a trusted process that has imported what the function needs, and has never run
parallel torch work, so that forking is safe) forks twice: the first child enters fresh
namespaces and forks the second, which is PID 1 of its own PID namespace, confines itself
(`confine.confine`) and only then runs the function. Killing that PID 1 kills every process the
function started, even ones that left its process group; both children also die with their
parent. The function reports JSON objects, one per line, on a pipe; the caller reads them until the
pipe closes or the deadline passes, with a size cap, and treats every byte as untrusted. A jail that
keeps its output gets a second pipe for stdout and stderr, which the caller copies into its own
stderr (a log on the host) through an `OutputLog`: capped and deduplicated, so that a candidate
that warns on every call cannot fill the host's disk.
"""

import contextlib
import ctypes
import hashlib
import json
import os
import re
import select
import shutil
import signal
import stat
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from discovery.sandbox.confine import Jail, confine, enter_namespaces, jail_root

Report = Callable[[dict[str, Any]], None]
_RESULT_FD = 3
_MAX_REPORT_BYTES = 4 * 1024 * 1024
_PR_SET_PDEATHSIG = 1
_EXIT_GRACE_SECONDS = 5.0
_MAX_LINE_BYTES = 4096  # a longer line is cut there
# A line of output, with its end as written: `\r` redraws a progress bar on a terminal.
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\n|\r)")
_REMEMBERED_LINES = 100_000  # distinct lines remembered for deduplication

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class ConfinedRun:
    """What a confined run reported and how it ended; every reported value is untrusted."""

    reports: list[dict[str, Any]] = field(default_factory=list)
    layers: dict[str, bool] = field(default_factory=dict)
    timed_out: bool = False
    ended: str = ""  # how the process ended, in words
    seconds: float = 0.0

    def last(self, key: str) -> Any:
        """The value of `key` in the last report that has it, else None."""
        return next((report[key] for report in reversed(self.reports) if key in report), None)


class OutputLog:
    """Copies the output of confined processes into this process's stderr (a log on the host).

    Each distinct line is copied once (a warning repeated on every call is a flood of one line), at
    most `max_bytes` of it in all (one candidate's trainings share one `OutputLog`), and nothing once
    the log file holds `max_log_bytes` (every worker of a run writes into the same file, so this caps
    the run's). What it dropped is said in the log, in one line, by `close`, once its owner is done
    with it (`run_confined` for the one it makes itself)."""

    def __init__(self, label: str, max_bytes: int = 4 * 2**20, max_log_bytes: int = 256 * 2**20) -> None:
        self.label = label
        self.max_bytes = max_bytes
        self.max_log_bytes = max_log_bytes
        self.copied = 0
        self.repeated = 0  # lines not copied because they were already
        self.dropped = 0  # bytes not copied because of a cap
        self._seen: set[bytes] = set()
        self._partial = b""

    def write(self, chunk: bytes) -> None:
        data = self._partial + chunk
        end = 0
        for line in _LINE.finditer(data):
            self._line(line[0])
            end = line.end()
        self._partial = data[end:]
        if len(self._partial) > _MAX_LINE_BYTES:
            self._line(self._partial)
            self._partial = b""

    def flush(self) -> None:
        """Copy what is left of a last line (its process ended without one)."""
        if self._partial:
            self._line(self._partial + b"\n")
            self._partial = b""

    def close(self) -> str | None:
        """Say in the log what was not copied, if anything, and return it."""
        self.flush()
        if not (self.repeated or self.dropped):
            return None
        note = (
            f"[discover] output of {self.label}: {self.repeated} repeated lines not copied, and "
            f"{self.dropped} bytes dropped over the caps (its {self.max_bytes / 2**20:g} MiB, "
            f"the log's {self.max_log_bytes / 2**20:g} MiB)"
        )
        _write_all(2, note.encode() + b"\n")
        return note

    def _line(self, line: bytes) -> None:
        if len(line) > _MAX_LINE_BYTES:
            line = line[:_MAX_LINE_BYTES] + b"\n"
        key = hashlib.blake2b(line, digest_size=16).digest()
        if key in self._seen:
            self.repeated += 1
            return
        if len(self._seen) < _REMEMBERED_LINES:
            self._seen.add(key)
        if self.copied + len(line) > self.max_bytes or _file_size(2) + len(line) > self.max_log_bytes:
            self.dropped += len(line)
            return
        self.copied += len(line)
        _write_all(2, line)


def run_confined(
    jail: Jail,
    function: Callable[[Report], None],
    timeout_s: float,
    on_report: Callable[[dict[str, Any]], None] | None = None,
    output: OutputLog | None = None,
) -> ConfinedRun:
    """Run `function(report)` confined by `jail`; return its reports once it ended or was killed.

    A jail that keeps its output has it copied through `output` (default: one for this run alone)."""
    root = jail_root(jail.workdir)
    root.mkdir(mode=0o755, exist_ok=True)
    own = OutputLog("a confined process") if jail.keep_stderr and output is None else None
    try:
        return _run_child(
            partial(_first_child, jail, function),
            timeout_s,
            on_report,
            (output or own) if jail.keep_stderr else None,
        )
    finally:
        if own is not None:
            own.close()
        with contextlib.suppress(OSError):
            root.rmdir()


def run_trusted(
    function: Callable[[Report], None],
    timeout_s: float,
    on_report: Callable[[dict[str, Any]], None] | None = None,
) -> ConfinedRun:
    """Run trusted `function(report)` in a forked child (own process group, same deadline and
    reporting), so the caller stays free of its threads and its memory."""
    return _run_child(partial(_trusted_child, function), timeout_s, on_report)


def _run_child(
    child: Callable[[int, int], None],
    timeout_s: float,
    on_report: Callable[[dict[str, Any]], None] | None,
    output: OutputLog | None = None,
) -> ConfinedRun:
    """Fork `child(write_fd, parent_pid)` and collect its reports until it ends or the deadline; with
    `output`, the child's stdout and stderr go to a pipe copied through it."""
    started = time.monotonic()
    read_fd, write_fd = os.pipe()
    output_read, output_write = os.pipe() if output is not None else (None, None)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # never returns
        os.close(read_fd)
        if output_read is not None and output_write is not None:
            os.close(output_read)
            os.dup2(output_write, 2)
            os.close(output_write)
        child(write_fd, parent)
    os.close(write_fd)
    if output_write is not None:
        os.close(output_write)
    copy = _OutputPipe(output_read, output) if output_read is not None and output is not None else None
    with contextlib.suppress(OSError):  # the child does it too; whichever runs first wins the race
        os.setpgid(pid, pid)
    run = ConfinedRun()
    inner: int | None = None
    try:
        for report in _reports(read_fd, started + timeout_s, run, copy):
            if isinstance(report.get("pid"), int) and inner is None and not run.reports:
                inner = report["pid"]  # the first child's word: the PID 1 to kill at the deadline
                continue
            if isinstance(report.get("layers"), dict) and not run.layers:
                run.layers = {str(k): bool(v) for k, v in report["layers"].items()}
                continue
            run.reports.append(report)
            if on_report is not None:
                on_report(report)
    finally:
        os.close(read_fd)
        if copy is not None and not run.timed_out:  # what it still writes while it exits
            copy.drain(time.monotonic() + _EXIT_GRACE_SECONDS)
        status = None if run.timed_out else _wait(pid, _EXIT_GRACE_SECONDS)
        if status is None:  # at the deadline, or it closed its pipe but lingers: kill all of it
            for target in (inner, pid):
                if target is not None:
                    with contextlib.suppress(OSError):
                        os.kill(target, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        if copy is not None:
            copy.drain(time.monotonic() + 1.0)  # its writers are dead: what is left in the pipe
            copy.close()
    run.seconds = time.monotonic() - started
    run.ended = _how_it_ended(status, run.timed_out, timeout_s)
    return run


def _wait(pid: int, seconds: float) -> int | None:
    """The exit status of `pid` if it ends within `seconds`, else None."""
    deadline = time.monotonic() + seconds
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            return None
        time.sleep(0.005)


class _OutputPipe:
    """The read end of a child's output pipe, copied through an `OutputLog` as it comes."""

    def __init__(self, fd: int, log: OutputLog) -> None:
        self.fd: int | None = fd
        self.log = log

    def read(self) -> None:
        """Copy what the pipe holds now (the caller saw it ready); at its end, close it."""
        assert self.fd is not None
        chunk = os.read(self.fd, 65536)
        if chunk:
            self.log.write(chunk)
        else:
            self.close()

    def drain(self, deadline: float) -> None:
        """Copy until the pipe ends or the deadline."""
        while self.fd is not None and (remaining := deadline - time.monotonic()) > 0:
            if select.select([self.fd], [], [], remaining)[0]:
                self.read()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
            self.log.flush()


def _reports(fd: int, deadline: float, run: ConfinedRun, output: _OutputPipe | None = None):
    """JSON objects, one per line, until end of file, the deadline or the size cap; meanwhile the
    child's output is copied, so that a child writing much of it never blocks on a full pipe."""
    buffer = b""
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            run.timed_out = True
            return
        watched = [fd] if output is None or output.fd is None else [fd, output.fd]
        ready, _, _ = select.select(watched, [], [], remaining)
        if output is not None and output.fd is not None and output.fd in ready:
            output.read()
        if fd not in ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        size += len(chunk)
        if size > _MAX_REPORT_BYTES:
            return  # a process that floods its pipe has said enough
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            with contextlib.suppress(ValueError):  # a line that is no JSON object is no report
                report = json.loads(line)
                if isinstance(report, dict):
                    yield report


def _how_it_ended(status: int, timed_out: bool, timeout_s: float) -> str:
    if timed_out:
        return f"timed out: still running after {timeout_s:g} s, so all its processes were killed"
    code = os.waitstatus_to_exitcode(status)
    # The first child passes on the signal that ended the confined one as 128 + N (or dies of it)
    number = -code if code < 0 else code - 128 if code > 128 else None
    if number is None:
        return f"exited with code {code}"
    if number == signal.SIGXCPU:
        return "exceeded its CPU-time limit and was killed"
    try:
        return f"was killed by signal {signal.Signals(number).name}"
    except ValueError:
        return f"was killed by signal {number}"


def _trusted_child(function: Callable[[Report], None], write_fd: int, parent: int) -> None:
    try:
        os.setpgid(0, 0)
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
        _run_function(function, write_fd, lambda report: None)
    finally:
        os._exit(0)


def _first_child(jail: Jail, function: Callable[[Report], None], write_fd: int, parent: int) -> None:
    """Enter fresh namespaces, fork the confined process, wait for it and pass on how it ended."""
    code = 1
    try:
        os.setpgid(0, 0)
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)
        obtained = enter_namespaces()
        inner = os.fork()
        if inner == 0:
            _confined_child(jail, function, write_fd, obtained)
        os.write(write_fd, json.dumps({"pid": inner}).encode() + b"\n")
        os.close(write_fd)
        _, status = os.waitpid(inner, 0)
        signalled = os.WIFSIGNALED(status)
        code = 128 + os.WTERMSIG(status) if signalled else os.WEXITSTATUS(status)
    finally:
        os._exit(code)


def _confined_child(
    jail: Jail, function: Callable[[Report], None], write_fd: int, namespaces: dict[str, bool]
) -> None:
    """Confine this process, then run the function; whatever happens, never return."""
    try:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        _run_function(function, write_fd, partial(_confine, jail, namespaces))
    finally:
        os._exit(0)


def _confine(jail: Jail, namespaces: dict[str, bool], report: Report) -> None:
    layers = namespaces | confine(jail, namespaces["mount_namespace"])
    report({"layers": layers})


def _run_function(
    function: Callable[[Report], None], write_fd: int, prepare: Callable[[Report], None]
) -> None:
    """Keep only the report pipe open, `prepare`, then run the function; failures become reports."""
    if write_fd != _RESULT_FD:
        os.dup2(write_fd, _RESULT_FD)
        os.close(write_fd)
    os.closerange(_RESULT_FD + 1, os.sysconf("SC_OPEN_MAX"))
    report = _reporter()
    try:
        prepare(report)
    except Exception as error:  # never run the function half-confined
        report({"error": f"the sandbox could not be set up: {type(error).__name__}: {error}"})
        return
    try:
        function(report)
    except BaseException as error:  # the function's own failure (SystemExit too), reported as such
        with contextlib.suppress(BaseException):
            report({"error": _describe(error)})


def _write_all(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError):  # a full disk or a closed log loses output, never the run
        while data:
            data = data[os.write(fd, data) :]


def _file_size(fd: int) -> int:
    """The size of the file `fd` writes to (0 for a pipe or a terminal, which fill no disk)."""
    try:
        info = os.fstat(fd)
    except OSError:
        return 0
    return info.st_size if stat.S_ISREG(info.st_mode) else 0


def _reporter() -> Report:
    def report(message: dict[str, Any]) -> None:
        payload = json.dumps(message).encode() + b"\n"
        while payload:
            payload = payload[os.write(_RESULT_FD, payload) :]

    return report


def _describe(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {' '.join(str(error).split())[:500]}{where}"


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies: a worker outlives no run."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the parent was gone before the signal was armed
        os._exit(1)


def clean_workdir(workdir: os.PathLike) -> None:
    """Remove a confined run's working folder and its jail mount point, whatever they hold."""
    shutil.rmtree(workdir, ignore_errors=True)
    with contextlib.suppress(OSError):
        jail_root(workdir).rmdir()
