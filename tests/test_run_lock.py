"""A run is written by exactly one process: its lock refuses a second writer, naming the first, and
is free again as soon as its holder is gone; readers never take it."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from discovery.archive import LOCK_FILE, Archive, RunBusy, RunLock, list_runs
from discovery.config import RunConfig
from discovery.records import CandidateStatus, RunStatus
from discovery.runner import start_run
from tests.support.archive_factory import build_run
from tests.support.commands import discover_main
from tests.support.probe_evaluator import evaluations

REPO = Path(__file__).resolve().parents[1]
PROBE = "tests.support.probe_evaluator:probe"  # importable by the `discover` processes the tests start


def test_a_second_lock_is_refused_with_the_holder_named_until_the_first_is_released(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path, "r1", proposals=1)
    with RunLock(run_dir):
        with pytest.raises(RunBusy) as refused:
            RunLock(run_dir)
        message = str(refused.value)
        assert "\n" not in message
        assert f"run r1 is being written by pid {os.getpid()} on {socket.gethostname()} since 20" in message
    with RunLock(run_dir):  # released at the end of the block: free again
        pass
    assert (run_dir / LOCK_FILE).read_text() == ""  # a released lock names nobody


def test_the_lock_of_a_killed_holder_is_free_at_once(tmp_path: Path) -> None:
    run_dir = build_run(tmp_path, "r1", proposals=1)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from discovery.archive import RunLock
            lock = RunLock({str(run_dir)!r})
            print("locked", flush=True)
            time.sleep(600)
        """)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(RunBusy, match=f"pid {holder.pid} on"):
        RunLock(run_dir)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    RunLock(run_dir).release()


def test_reading_commands_work_while_a_run_is_written_and_never_touch_its_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = build_run(tmp_path, "r1", proposals=3)
    monkeypatch.setenv("DISCOVER_RUNS_DIR", str(tmp_path))
    with RunLock(run_dir):
        held = (run_dir / LOCK_FILE).read_bytes(), (run_dir / LOCK_FILE).stat().st_mtime_ns
        for command in (["runs"], ["archive", "r1"], ["show", "r1/g1-c0"], ["export", "r1/g1-c0", "-o", "-"]):
            code, _, err = discover_main(capsys, *command)
            assert code == 0, err
        assert ((run_dir / LOCK_FILE).read_bytes(), (run_dir / LOCK_FILE).stat().st_mtime_ns) == held


@pytest.mark.slow
def test_two_resumes_started_together_one_is_refused_and_nothing_is_scored_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("DISCOVER_CACHE", str(cache))  # the evaluation log of this test alone
    runs_dir = tmp_path / "runs"
    config = RunConfig(evaluator=PROBE, proposer="builtin", seed_objectives=["dpo", "slic"], generations=1)
    run = start_run(runs_dir, config).run
    environment = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "discovery.cli", "run", "--resume", run.id, "--generations", "4"]
    command += ["--runs-dir", str(runs_dir), "--json"]
    first, second = (
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
        for _ in range(2)
    )
    results = {}
    for process in (first, second):
        out, err = process.communicate(timeout=600)
        results[process.pid] = (process.returncode, out, err)

    codes = sorted(code for code, _, _ in results.values())
    assert codes == [0, 2], results
    (writer,) = [pid for pid, (code, _, _) in results.items() if code == 0]
    (refusal,) = [err for code, _, err in results.values() if code == 2]
    assert refusal.count("\n") == 1 and "Traceback" not in refusal
    assert re.search(rf"run {run.id} is being written by pid {writer} on \S+ since \d{{4}}-", refusal)
    assert json.loads(results[writer][1])["status"] == "finished"

    scored = evaluations(cache)
    assert len(scored) == len(set(scored)), f"trained twice: {scored}"
    with Archive.open(runs_dir, run.id) as archive:
        assert archive.run().generations_done == 4
        done = {c.id for c in archive.candidates(status=CandidateStatus.SCORED)}
    assert done <= {entry.split("/")[0] for entry in scored}  # each scored by one process, once
    assert list_runs(runs_dir)[0].status is RunStatus.FINISHED
