"""The warm sandbox worker: a process of its own that forks one confined child per candidate.

Started by `Validator` with a scrubbed environment, it imports torch once and runs the checks once
on a trusted objective, so every lazy import and kernel is loaded before the first fork; a child then
costs a fork plus a few milliseconds of checks instead of a torch import. Requests and answers are
JSON lines on stdin / a private copy of stdout. The worker runs the static gate itself, so source that
fails it is never executed, not even inside a child.

The child is confined (`confine.confine`) before the candidate's source is compiled; the worker reads
its one JSON result from a pipe until a wall-clock deadline, then kills the child's whole process
group, whatever happened.
"""

import builtins
import contextlib
import ctypes
import json
import math
import os
import select
import shutil
import signal
import socket  # noqa: F401 (preloaded on purpose, see `_prepare`)
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

from discovery.objectives.compile import ObjectiveRejected, compile_objective
from discovery.objectives.contract import FUNCTION_NAME
from discovery.objectives.gate import check_source
from discovery.objectives.objective import load_objective
from discovery.sandbox.checks import SOURCE_FILENAME, Rejection, describe, run_checks
from discovery.sandbox.confine import RESULT_FD, confine
from discovery.sandbox.verdict import Verdict

_MAX_RESULT_BYTES = 4 * 1024 * 1024
_SHOWN_VIOLATIONS = 3


def validate(source: str, gate: bool, timeout_s: float, memory_mb: int, folder_root: str) -> dict:
    """Static gate (unless `gate` is off, for containment probes), then a confined child run."""
    if gate:
        violations = check_source(source)
        if violations:
            shown = "; ".join(str(v) for v in violations[:_SHOWN_VIOLATIONS])
            more = len(violations) - _SHOWN_VIOLATIONS
            reason = f"{shown} (and {more} more)" if more > 0 else shown
            return {"ok": False, "stage": "static", "reason": reason, "fingerprint": None}
    return _run_child(source, gate, timeout_s, memory_mb, folder_root)


def _run_child(source: str, gate: bool, timeout_s: float, memory_mb: int, folder_root: str) -> dict:
    folder = tempfile.mkdtemp(prefix="candidate-", dir=folder_root)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns from here
        os.close(read_fd)
        _child(source, gate, folder, write_fd, timeout_s, memory_mb)
    os.close(write_fd)
    with contextlib.suppress(OSError):  # the child does it too; whichever runs first wins the race
        os.setpgid(pid, pid)
    data, timed_out = _read_until(read_fd, time.monotonic() + timeout_s)
    os.close(read_fd)
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    shutil.rmtree(folder, ignore_errors=True)
    if data:
        return _parse_result(data)
    return _runtime(_death_reason(status, timed_out, timeout_s))


def _parse_result(data: bytes) -> dict:
    """The child's answer, checked field by field: the caller must never choke on what a child wrote."""
    try:
        result = json.loads(data)
        outcome = {key: result[key] for key in ("ok", "stage", "reason", "fingerprint")}
        Verdict.model_validate({**outcome, "seconds": 0.0})
        layers = {str(key): bool(value) for key, value in result.get("layers", {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError):  # pydantic's ValidationError is a ValueError
        return _runtime("the candidate's process produced an unreadable result")
    return outcome | {"layers": layers}


def _child(source: str, gate: bool, folder: str, write_fd: int, timeout_s: float, memory_mb: int) -> None:
    try:
        if write_fd != RESULT_FD:
            os.dup2(write_fd, RESULT_FD)
            os.close(write_fd)
        try:
            layers = confine(folder, cpu_seconds=math.ceil(timeout_s) + 1, memory_mb=memory_mb)
        except Exception as error:  # never run the candidate half-confined
            outcome = _runtime(f"the sandbox could not be set up: {error}")
        else:
            outcome = _evaluate(source, gate, memory_mb) | {"layers": layers}
        payload = json.dumps(outcome).encode()
        while payload:
            payload = payload[os.write(RESULT_FD, payload) :]
    finally:
        os._exit(0)


def _evaluate(source: str, gate: bool, memory_mb: int) -> dict:
    """Compile and check inside the confined child; every failure becomes a stage and a reason."""
    try:
        loss = compile_objective(source, SOURCE_FILENAME) if gate else _compile_ungated(source)
        fingerprint = run_checks(loss, memory_mb)
    except ObjectiveRejected as error:
        return {"ok": False, "stage": "static", "reason": str(error), "fingerprint": None}
    except Rejection as rejection:
        return {"ok": False, "stage": rejection.stage, "reason": rejection.reason, "fingerprint": None}
    except MemoryError:
        return _runtime(f"ran out of memory (limit {memory_mb} MB)")
    except RecursionError:
        return _runtime("recursion too deep")
    except Exception as error:
        return _runtime(f"raised {describe(error)} while being loaded")
    return {"ok": True, "stage": None, "reason": None, "fingerprint": fingerprint}


def _compile_ungated(source: str):
    """Execute source with the real builtins and no gate: only for probing the runtime containment."""
    namespace: dict = {
        "__builtins__": builtins,
        "__name__": "objective",
        "torch": torch,
        "F": F,
        "math": math,
    }
    exec(compile(source, SOURCE_FILENAME, "exec"), namespace)
    return namespace[FUNCTION_NAME]


def _read_until(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything written to `fd` until end-of-file or the deadline; True when the deadline came first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"".join(chunks), True
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks), False
        size += len(chunk)
        if size > _MAX_RESULT_BYTES:
            return b"", False
        chunks.append(chunk)


def _death_reason(status: int, timed_out: bool, timeout_s: float) -> str:
    if timed_out:
        return f"timed out: still running after {timeout_s:g} s, so its whole process group was killed"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number == signal.SIGXCPU:
            return "exceeded its CPU-time limit and was killed"
        return f"crashed with signal {signal.Signals(number).name}"
    return f"exited with code {os.WEXITSTATUS(status)} before reporting a result"


def _runtime(reason: str) -> dict:
    return {"ok": False, "stage": "runtime", "reason": reason, "fingerprint": None}


def _prepare() -> None:
    """Die with the parent, use one thread (forked children must not inherit a thread pool), warm up.

    `socket` is imported above although the worker never uses it: code that escaped the gate in a
    trainer would find it already loaded, so the children must be kept off the network by the network
    namespace itself, and the containment tests can show that they are.
    """
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    torch.set_num_threads(1)
    run_checks(load_objective("dpo").compile(), memory_mb=0)


def main() -> None:
    """Serve requests until stdin closes: one JSON line in, one JSON line out."""
    folder_root = sys.argv[1]
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints must not corrupt the answers
    _prepare()
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in sys.stdin:
        request = json.loads(line)
        answer = validate(
            request["source"], request["gate"], request["timeout_s"], request["memory_mb"], folder_root
        )
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
