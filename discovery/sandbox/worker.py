"""The warm sandbox worker: a process of its own that runs each request in a fresh confined child.

Started by `Validator` with a scrubbed environment, it imports torch once and runs the checks once
on a trusted objective (single-threaded, so forking it stays safe), so every lazy import and kernel
is loaded before the first fork; a child then costs two forks plus a few milliseconds of checks
instead of a torch import. Requests and answers are JSON lines on stdin / a private copy of stdout.

Every request runs candidate source, so each runs in a child confined with an empty root
(`discovery.sandbox.process`): the static gate first (source that fails it is never executed),
then the request's own work. What a child reports is untrusted, and checked field by field.
"""

import os
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, Field, TypeAdapter

from discovery.objectives.compile import ObjectiveRejected, compile_objective
from discovery.objectives.gate import check_source
from discovery.objectives.objective import load_objective
from discovery.sandbox.channel import JsonLinesServer
from discovery.sandbox.checks import (
    SOURCE_FILENAME,
    Rejection,
    batch_coupled,
    behaviour,
    beta_profile,
    comparison,
    curves,
    describe,
    descriptors,
    run_checks,
)
from discovery.sandbox.confine import Jail, writable_by_jail
from discovery.sandbox.process import Report, clean_workdir, run_confined
from discovery.sandbox.verdict import Curves, Probe, Verdict

_SHOWN_VIOLATIONS = 3


def validate(source: str, timeout_s: float, memory_mb: int, probe: Probe, scratch: Path) -> dict[str, Any]:
    """Static gate, then the functional checks, fingerprint (on `probe`) and behaviour in a confined child."""
    violations = check_source(source)
    if violations:
        shown = "; ".join(str(v) for v in violations[:_SHOWN_VIOLATIONS])
        more = len(violations) - _SHOWN_VIOLATIONS
        return _rejected("static", f"{shown} (and {more} more)" if more > 0 else shown)
    run = _in_child(lambda report: _check(source, memory_mb, probe, report), timeout_s, memory_mb, scratch)
    verdict = run.last("verdict")
    try:
        checked = Verdict.model_validate({**verdict, "seconds": 0.0}) if isinstance(verdict, dict) else None
    except ValueError:  # pydantic's ValidationError is a ValueError
        checked = None
    if checked is None:
        error = run.last("error")
        if error is None and run.reports:
            return _rejected("runtime", "the candidate's process produced an unreadable result")
        return _rejected("runtime", _runtime_reason(error, run.ended, memory_mb))
    return checked.model_dump(exclude={"seconds"}) | {"isolation": run.layers}


def loss_curves(source: str, beta: float, points: int, timeout_s: float, scratch: Path) -> dict[str, Any]:
    """Loss and gradient against the margin, computed in a confined child (after the gate)."""
    compute = partial(_curves_of, beta=beta, points=points)
    return _computed(source, "curves", compute, TypeAdapter(Curves), timeout_s, scratch)


def comparison_figures(source: str, timeout_s: float, scratch: Path) -> dict[str, Any]:
    """The figures compared with TRL's built-in losses, computed in a confined child (after the gate)."""
    return _computed(source, "comparison", comparison, TypeAdapter(list[float]), timeout_s, scratch)


def _computed(
    source: str,
    key: str,
    compute: Callable[[Callable], Any],
    expected: TypeAdapter,
    timeout_s: float,
    scratch: Path,
) -> dict[str, Any]:
    """{key: compute(loss)} from a confined child, checked against `expected`; or {"error": why not}."""
    violations = check_source(source)
    if violations:
        return {"error": "; ".join(str(v) for v in violations[:_SHOWN_VIOLATIONS])}
    run = _in_child(lambda report: _compute(source, key, compute, report), timeout_s, 1024, scratch)
    try:
        return {key: expected.dump_python(expected.validate_python(run.last(key)))}
    except ValueError:
        return {"error": run.last("error") or f"the computation {run.ended} without a result"}


def _in_child(function, timeout_s: float, memory_mb: int, scratch: Path):
    folder = Path(tempfile.mkdtemp(prefix="candidate-", dir=scratch))
    writable_by_jail(folder)
    jail = Jail(workdir=folder, memory_mb=memory_mb, cpu_seconds=int(timeout_s) + 1, max_open_files=4)
    try:
        return run_confined(jail, function, timeout_s)
    finally:
        clean_workdir(folder)


def _check(source: str, memory_mb: int, probe: Probe, report: Report) -> None:
    """Inside the confined child: compile, check, fingerprint; every failure becomes a stage and a reason."""
    try:
        loss = compile_objective(source, SOURCE_FILENAME)
        fingerprint = run_checks(loss, memory_mb, probe)
        signature = behaviour(loss)
        profile = beta_profile(loss, probe)
        place = descriptors(loss)
        coupled = batch_coupled(loss)
    except ObjectiveRejected as error:
        report({"verdict": _rejected("static", str(error))})
    except Rejection as rejection:
        report({"verdict": _rejected(rejection.stage, rejection.reason)})
    except MemoryError:
        report({"error": "ran out of memory"})
    except RecursionError:
        report({"verdict": _rejected("runtime", "recursion too deep")})
    except Exception as error:
        report({"verdict": _rejected("runtime", f"raised {describe(error)} while being loaded")})
    else:
        report({"verdict": {"ok": True, "stage": None, "reason": None, "fingerprint": fingerprint,
                            "behaviour": signature, "beta_profile": profile,
                            "descriptors": place, "batch_coupled": coupled}})  # fmt: skip


def _curves_of(loss: Callable, beta: float, points: int) -> dict[str, Any]:
    return curves(loss, beta, points).model_dump()


def _compute(source: str, key: str, compute: Callable[[Callable], Any], report: Report) -> None:
    """Inside the confined child: compile, compute, report {key: result} or {"error": why not}."""
    try:
        report({key: compute(compile_objective(source, SOURCE_FILENAME))})
    except Rejection as rejection:
        report({"error": rejection.reason})
    except Exception as error:
        report({"error": describe(error)})


def _runtime_reason(error: object, ended: str, memory_mb: int) -> str:
    if error == "ran out of memory" or (isinstance(error, str) and "MemoryError" in error):
        return f"ran out of memory (limit {memory_mb} MB)"
    if isinstance(error, str):
        return error[:300]
    return f"{ended} before reporting a result" if ended.startswith("exited") else ended


def _rejected(stage: str, reason: str) -> dict[str, Any]:
    return {"ok": False, "stage": stage, "reason": reason, "fingerprint": None, "behaviour": None,
            "beta_profile": None, "descriptors": None, "batch_coupled": None}  # fmt: skip


# The requests `Validator` sends, each named by the key that holds the candidate's source.
class _Validate(BaseModel):
    source: str = Field(alias="validate")
    timeout_s: float
    memory_mb: int
    probe: Probe


class _Curves(BaseModel):
    source: str = Field(alias="curves")
    beta: float
    points: int
    timeout_s: float


class _Comparison(BaseModel):
    source: str = Field(alias="comparison")
    timeout_s: float


_REQUESTS: TypeAdapter[_Validate | _Curves | _Comparison] = TypeAdapter(_Validate | _Curves | _Comparison)


def _answer(request: _Validate | _Curves | _Comparison, scratch: Path) -> dict[str, Any]:
    if isinstance(request, _Curves):
        return loss_curves(request.source, request.beta, request.points, request.timeout_s, scratch)
    if isinstance(request, _Comparison):
        return comparison_figures(request.source, request.timeout_s, scratch)
    return validate(request.source, request.timeout_s, request.memory_mb, request.probe, scratch)


def _prepare() -> None:
    """One thread (forked children must not inherit a thread pool), and every lazy import loaded."""
    torch.set_num_threads(1)
    dpo = compile_objective(load_objective("dpo").source)
    run_checks(dpo, memory_mb=0, probe=Probe())
    behaviour(dpo)
    beta_profile(dpo, Probe())
    descriptors(dpo)
    batch_coupled(dpo)
    curves(dpo, 0.1, 11)
    comparison(dpo)


def main() -> None:
    """Serve requests until stdin closes: one JSON line in, one JSON line out."""
    scratch = Path(sys.argv[1])
    server = JsonLinesServer(stray_output=os.open(os.devnull, os.O_WRONLY))
    _prepare()
    server.serve(_REQUESTS, lambda request: server.send(_answer(request, scratch)))


if __name__ == "__main__":
    main()
