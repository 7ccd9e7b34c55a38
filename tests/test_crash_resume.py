"""A run killed with SIGKILL in the middle of training resumes without losing or re-scoring anything.

This is the CI's end-to-end path through the real stack: the built-in proposer, the sandbox, the
embedded sentiment task (tiny preset: real TRL training and scoring), and the archive.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from discovery.archive import Archive
from discovery.objectives import load_objective
from discovery.records import CandidateStatus, RunStatus
from tests.support.commands import discover_subprocess
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.hostile_evaluator import with_payload
from tests.support.live_runs import rows, trainings

pytestmark = pytest.mark.slow  # real training killed and resumed, in subprocesses

RUN_ARGS = [
    "--proposer",
    "builtin",
    "--set",
    "preset=tiny",
    "--seed-objectives",
    "dpo,discopop",
    "--generations",
    "3",
]


def wait_for_training(runs_dir, process, timeout: float = 400) -> None:
    """Until a proposed (generation >= 1) candidate is being trained (its job submitted)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        states = rows(runs_dir, "SELECT id, status FROM candidates")
        if any(cid.startswith("g") and status == "running" for cid, status in states):
            return
        time.sleep(0.1)
    raise AssertionError("no candidate reached training in time")


def test_sigkill_mid_training_then_resume(tmp_path) -> None:
    runs_dir = tmp_path / "runs"
    process = subprocess.Popen(
        [sys.executable, "-m", "discovery.cli", "run", *RUN_ARGS, "--runs-dir", str(runs_dir), "--json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    try:
        wait_for_training(runs_dir, process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    (run_dir,) = [p for p in runs_dir.iterdir() if p.name != "cache"]
    with Archive.open(runs_dir, run_dir.name) as archive:
        before = {c.id: c for c in archive.candidates()}
        assert archive.status() == RunStatus.INTERRUPTED
    scored_before = {cid: trainings(c) for cid, c in before.items() if c.status == CandidateStatus.SCORED}
    assert scored_before, "the seeds were scored before the kill"
    assert any(c.status == CandidateStatus.RUNNING for c in before.values())

    result = discover_subprocess(
        "run", "--resume", run_dir.name, "--runs-dir", str(runs_dir), "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "finished"

    with Archive.open(runs_dir, run_dir.name) as archive:
        after = {c.id: c for c in archive.candidates()}
        run = archive.run()
    assert run.generations_done == 3 and run.status == RunStatus.FINISHED
    # nothing lost, nothing scored twice: the trainings of records scored before the kill are unchanged
    assert {cid: trainings(after[cid]) for cid in scored_before} == scored_before
    # the interrupted candidate was trained to the end, and every candidate reached a final state
    transient = (CandidateStatus.PROPOSED, CandidateStatus.VALIDATED, CandidateStatus.RUNNING)
    assert all(c.status not in transient for c in after.values())
    assert sorted({c.generation for c in after.values()}) == [0, 1, 2, 3]
    assert any(c.status == CandidateStatus.SCORED and not c.is_seed for c in after.values())


def test_a_candidate_whose_training_keeps_killing_the_run_fails_on_resume(tmp_path) -> None:
    """Killed twice while one candidate trains (as if that candidate brought the machine down), the
    run does not train it a third time: the candidate fails, with the reason, and the run finishes."""
    hanging = with_payload(
        load_objective("dpo").source.replace(
            "-F.logsigmoid(beta * rho)", "-F.logsigmoid(beta * rho) + 0.3 * F.relu(-rho)"
        ),
        "while True:\n    pass",
    )
    runs_dir = tmp_path / "runs"
    first = [
        "run", "--evaluator", "tests.support.hostile_evaluator:hostile", "--set", "timeout_s=600",
        "--seed-objectives", "dpo", "--generations", "1", "--proposer", "openai", "--model", "m",
    ]  # fmt: skip
    with FakeOpenAI([Reply.proposal("hangs", hanging)]) as server:
        kill_while_training(runs_dir, [*first, "--base-url", server.base_url], attempts=1)
        kill_while_training(runs_dir, ["run", "--resume", run_id(runs_dir)], attempts=2)
    result = discover_subprocess(
        "run", "--resume", run_id(runs_dir), "--runs-dir", str(runs_dir), "--json", env=PLUGINS
    )
    assert result.returncode == 0, result.stderr
    with Archive.open(runs_dir, run_id(runs_dir)) as archive:
        (hung,) = archive.candidates(generation=1)
    assert hung.status == CandidateStatus.FAILED and hung.attempts == 2
    assert "ended the process running it 2 times" in hung.reason


PLUGINS = {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}  # the test evaluators import from here


def run_id(runs_dir) -> str:
    (run_dir,) = [p for p in runs_dir.iterdir() if p.name != "cache"]
    return run_dir.name


def kill_while_training(runs_dir, command: list[str], attempts: int) -> None:
    """Start `discover COMMAND`, and SIGKILL it once generation 1 is on its `attempts`-th training."""
    process = subprocess.Popen(
        [sys.executable, "-m", "discovery.cli", *command, "--runs-dir", str(runs_dir), "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **PLUGINS},
    )
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            if (attempts,) in rows(runs_dir, "SELECT attempts FROM candidates WHERE generation = 1"):
                time.sleep(1.0)  # well into its training
                return
            time.sleep(0.1)
        raise AssertionError("generation 1 never started training")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
