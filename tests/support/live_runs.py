"""Reading the runs of a `discover run` that is still writing them, as a user's own script would.

A run is created under a hidden staging name and renamed into place (`Archive.create`), so a reader
looks only at run folders with visible names; and a read that meets the writer mid-commit or the
folder mid-rename is no answer yet, not a failure: the caller polls again. Once it is over, a
candidate's trainings are what a crash of the run must neither lose nor redo; `killed_in_generation`
makes such a crash at a chosen point.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from discovery.records import CandidateRecord


def rows(runs_dir: Path, query: str) -> list[tuple]:
    """The rows `query` returns over every run in `runs_dir` that is in place (read-only); empty
    while a run is being created or the read met a commit."""
    found: list[tuple] = []
    for database in Path(runs_dir).glob("[!.]*/archive.sqlite"):
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
                found.extend(db.execute(query))
        except sqlite3.Error:
            return []
    return found


def trainings(candidate: CandidateRecord) -> str:
    """What a candidate's trainings gave, seed by seed: what a crash must neither lose nor redo."""
    return json.dumps([t.model_dump(mode="json") for t in candidate.figures.seeds])


def discover_command(run_id: str | None = None) -> list[str]:
    """The command line of `discover`, with a new run's id fixed to `run_id` if given
    (`tests.support.fixed_run_id`)."""
    if run_id is None:
        return [sys.executable, "-m", "discovery.cli"]
    return [sys.executable, "-m", "tests.support.fixed_run_id", run_id]


def killed_in_generation(
    runs_dir: Path, generation: int, run_args: list[str], env: dict[str, str], run_id: str | None = None
) -> None:
    """Start `discover run RUN_ARGS` in `runs_dir` and SIGKILL it once a candidate of `generation`
    trains (its proposal and the exchanges that wrote it are then committed)."""
    command = [*discover_command(run_id), "run", *run_args, "--runs-dir", str(runs_dir)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **env}
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


def run_to_end(
    runs_dir: Path, run_args: list[str], env: dict[str, str], run_id: str | None = None
) -> subprocess.CompletedProcess:
    """`discover run RUN_ARGS` in `runs_dir`, uninterrupted (with its id fixed to `run_id` if given)."""
    command = [*discover_command(run_id), "run", *run_args, "--runs-dir", str(runs_dir)]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1", **env}
    )


def only_run(runs_dir: Path) -> Path:
    """The folder of the one run in `runs_dir`."""
    (run_dir,) = [path for path in runs_dir.iterdir() if (path / "archive.sqlite").is_file()]
    return run_dir
