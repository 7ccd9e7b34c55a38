"""`discover run` followed as a user does: through a pipe (a batch log), in a terminal, and stopped
with Ctrl-C. Real processes on the tiny sentiment task; stderr is read while the run goes on."""

import fcntl
import os
import pty
import queue
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from discovery.archive import list_runs
from discovery.records import RunStatus

pytestmark = pytest.mark.slow  # real runs of the tiny sentiment task, in subprocesses

# the quickest real run: the tiny task at one beta, one seed, DPO as the only seed, no transfer check
# One worker: the lines come in the order a test can name (generation 1 scored before 2 starts).
QUICK = "seeds: 1\nseed_objectives: [dpo]\nproposer: builtin\ntransfer: {top: 0}\nexecutor: {workers: 1}\n"
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (.*)$")
HINT = re.compile(r"^interrupted; continue with: discover run --resume (\S+)$")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_args(folder: Path, generations: int) -> list[str]:
    """`discover run` on the tiny preset, with its archive and quick settings in `folder`."""
    config = folder / "quick.yaml"
    config.write_text(QUICK)
    return ["run", "--set", "preset=tiny", "--set", "betas=[0.1]", "--config", str(config),
            "--generations", str(generations), "--runs-dir", str(folder)]  # fmt: skip


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "80", **extra}


class Piped:
    """`discover ARGS` with stdout and stderr on pipes; each stderr line is taken as it arrives, with
    whether the process was still running then."""

    def __init__(self, *args: str, cwd: Path, **env: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "discovery.cli", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(**env),
            start_new_session=True,  # a Ctrl-C reaches its whole process group, as in a terminal
        )
        self.lines: queue.Queue[tuple[str, bool] | None] = queue.Queue()
        self.stdout = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.put((line.rstrip("\n"), self.process.poll() is None))
        self.lines.put(None)

    def until(self, pattern: str, timeout: float = 300) -> list[tuple[str, bool]]:
        """The stderr lines up to the first one matching `pattern` (which the run must print)."""
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            item = self.lines.get(timeout=deadline - time.monotonic())
            assert item is not None, f"stderr ended before {pattern!r}: {seen}"
            seen.append(item)
            if re.search(pattern, item[0]):
                return seen
        raise AssertionError(f"no {pattern!r} in {timeout} s: {seen}")

    def rest(self, timeout: float = 300) -> list[tuple[str, bool]]:
        """The stderr lines until the process ends; its stdout is kept in `self.stdout`."""
        self.stdout = self.process.stdout.read()
        self.process.wait(timeout=timeout)
        seen = []
        while (item := self.lines.get(timeout=timeout)) is not None:
            seen.append(item)
        return seen


def test_through_a_pipe_progress_lines_arrive_while_the_run_goes_on(tmp_path) -> None:
    log_file = tmp_path / "run.log"
    fresh = str(tmp_path / "cache")  # the task is built, so its preparation shows too
    run = Piped(*run_args(tmp_path, 2), "--log-file", str(log_file), cwd=tmp_path, DISCOVER_CACHE=fresh)
    lines = run.until(r"generation 1/2 · g1-c1 \S+: \w+") + run.rest()

    assert run.process.returncode == 0, lines
    texts = [line for line, _ in lines]
    assert all(STAMP.match(line) for line in texts), texts  # every line timestamped
    plain = [STAMP.match(line).group(1) for line in texts]
    alive = [text for text, (_, running) in zip(plain, lines, strict=True) if running]
    # what a batch log shows before the run ends: the run, the task, the seed, the generations
    assert any(text.startswith("run ") and "proposer builtin" in text for text in alive)
    assert any(text.startswith("preparing task: ") for text in alive)
    assert any(
        re.fullmatch(r"seeds 1/1 · seed-dpo dpo: scored · fitness \S+ · KL \S+ · the best so far", t)
        for t in alive
    )
    assert any(re.match(r"generation 1/2 · g1-c1 \S+: ", text) for text in alive)
    assert "generation 2/2 · ETA " in " ".join(alive)
    assert log_file.read_text().splitlines() == texts  # --log-file has the same lines
    board = run.stdout  # the leaderboard, on stdout, at 80 columns with its ids whole
    assert "Leaderboard of run" in board and "seed-dpo" in board and "g1-c1" in board and "g2-c1" in board
    assert max(len(line) for line in board.splitlines()) <= 80


def test_after_ctrl_c_in_a_batch_log_the_resume_command_is_the_last_line(tmp_path) -> None:
    run = Piped(*run_args(tmp_path, 100), cwd=tmp_path)
    started = run.until(r"generation 1/100")  # mid-run: the seed is scored, proposals are made
    os.killpg(run.process.pid, signal.SIGINT)
    lines = started + run.rest()

    assert run.process.returncode == 130
    last = [line for line, _ in lines if line.strip()][-1]
    hint = HINT.match(last)
    assert hint, lines
    assert "Traceback" not in "\n".join(line for line, _ in lines) and run.stdout == ""
    (summary,) = [s for s in list_runs(tmp_path) if s.id == hint.group(1)]
    assert summary.status is RunStatus.INTERRUPTED


def test_after_ctrl_c_in_a_terminal_the_resume_command_outlives_the_live_display(tmp_path) -> None:
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = environment(TERM="xterm-256color")
    del env["COLUMNS"]  # the terminal's own width
    process = subprocess.Popen(
        [sys.executable, "-m", "discovery.cli", *run_args(tmp_path, 100)],
        cwd=tmp_path,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        start_new_session=True,
    )
    os.close(follower)
    screen, interrupted, deadline = b"", False, time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            if not interrupted and b"generation 1/100" in screen:  # the live display, mid-run
                os.killpg(process.pid, signal.SIGINT)
                interrupted = True
            if not select.select([leader], [], [], 0.5)[0]:
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's last writer is gone
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(leader)
        process.wait(timeout=120)

    assert interrupted, screen.decode(errors="replace")[-2000:]
    assert process.returncode == 130
    text = ANSI.sub("", screen.decode(errors="replace"))
    last = [line for line in re.split(r"[\r\n]+", text) if line.strip()][-1]
    assert HINT.match(last.strip()), text[-2000:]
    assert "Traceback" not in text
