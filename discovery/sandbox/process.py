"""Run a function in a confined child process, kill it at a wall-clock deadline, read what it reports.

The caller (a trusted process that has imported what the function needs, and has never run
parallel torch work, so that forking is safe) forks twice: the first child enters fresh
namespaces and forks the second, which is PID 1 of its own PID namespace, confines itself
(`confine.confine`) and only then runs the function. Killing that PID 1 kills every process the
function started, even ones that left its process group; both children also die with their
parent. The function reports JSON objects, one per line, on a pipe; the caller reads them until the
pipe closes or the deadline passes, with a size cap, and treats every byte as untrusted.
"""

import contextlib
import ctypes
import json
import os
import select
import shutil
import signal
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


def run_confined(
    jail: Jail,
    function: Callable[[Report], None],
    timeout_s: float,
    on_report: Callable[[dict[str, Any]], None] | None = None,
) -> ConfinedRun:
    """Run `function(report)` confined by `jail`; return its reports once it ended or was killed."""
    root = jail_root(jail.workdir)
    root.mkdir(mode=0o755, exist_ok=True)
    try:
        return _run_child(partial(_first_child, jail, function), timeout_s, on_report)
    finally:
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
) -> ConfinedRun:
    """Fork `child(write_fd, parent_pid)` and collect its reports until it ends or the deadline."""
    started = time.monotonic()
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # never returns
        os.close(read_fd)
        child(write_fd, parent)
    os.close(write_fd)
    with contextlib.suppress(OSError):  # the child does it too; whichever runs first wins the race
        os.setpgid(pid, pid)
    run = ConfinedRun()
    inner: int | None = None
    try:
        for report in _reports(read_fd, started + timeout_s, run):
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
        status = None if run.timed_out else _wait(pid, _EXIT_GRACE_SECONDS)
        if status is None:  # at the deadline, or it closed its pipe but lingers: kill all of it
            for target in (inner, pid):
                if target is not None:
                    with contextlib.suppress(OSError):
                        os.kill(target, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
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


def _reports(fd: int, deadline: float, run: ConfinedRun):
    """JSON objects, one per line, until end of file, the deadline or the size cap."""
    buffer = b""
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            run.timed_out = True
            return
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
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
