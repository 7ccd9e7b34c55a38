"""A run killed with SIGKILL in the middle of a generation resumes with the islands and the behaviour
map it would have had: the same islands and cells for the same candidates, the same migrations and
reseeds, as an uninterrupted run with the same seed (built-in proposer, millisecond test evaluator,
one evaluation at a time: with more, what each generation is shown depends on timing)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from discovery.archive import Archive
from tests.support.commands import discover_subprocess
from tests.support.live_runs import rows

REPO = Path(__file__).resolve().parents[1]
RUN_ARGS = [
    "--evaluator", "tests.support.probe_evaluator:probe", "--proposer", "builtin",
    "--seed-objectives", "dpo,slic,discopop", "--generations", "6", "--islands", "2",
    "--set", "betas=[0.1]", "--seeds", "1", "--workers", "1",
]  # fmt: skip
ENV = {"PYTHONPATH": str(REPO)}


def population(runs_dir: Path) -> tuple[list, list]:
    """Each candidate's id, island and cell, and every island event, of the one run in `runs_dir`."""
    (run_dir,) = [p for p in runs_dir.iterdir() if (p / "archive.sqlite").is_file()]
    with Archive.open(runs_dir, run_dir.name) as archive:
        candidates = [(c.id, c.island, c.cell) for c in archive.candidates()]
        events = [
            (e.generation, e.island, e.kind.value, e.candidates, e.source) for e in archive.island_events()
        ]
    return candidates, events


def killed_in_generation(runs_dir: Path, generation: int) -> None:
    """Start the run and SIGKILL it once a candidate of `generation` trains."""
    command = [sys.executable, "-m", "discovery.cli", "run", *RUN_ARGS, "--runs-dir", str(runs_dir)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **ENV}
    )
    try:
        deadline = time.monotonic() + 300
        while not rows(
            runs_dir, f"SELECT id FROM candidates WHERE generation = {generation} AND status = 'running'"
        ):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1][-2000:]
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


def test_a_run_killed_mid_generation_resumes_with_the_same_islands_cells_and_events(tmp_path) -> None:
    whole = discover_subprocess("run", *RUN_ARGS, "--runs-dir", str(tmp_path / "whole"), env=ENV)
    assert whole.returncode == 0, whole.stderr[-2000:]

    killed = tmp_path / "killed"
    killed_in_generation(killed, 4)
    (run_dir,) = [p for p in killed.iterdir() if (p / "archive.sqlite").is_file()]
    resumed = discover_subprocess("run", "--resume", run_dir.name, "--runs-dir", str(killed), env=ENV)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    candidates, events = population(tmp_path / "whole")
    assert population(killed) == (candidates, events)
    assert {island for _, island, _ in candidates} == {None, 0, 1}  # seeds on every island, proposals on one
    assert any(cell for _, _, cell in candidates) and events  # the map and the islands were used
