"""A process killed while it holds a Validator cannot remove the sandbox's scratch folder; the next
Validator does, and leaves those of live processes alone."""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from discovery.sandbox import Validator

REPO = Path(__file__).resolve().parents[1]


def scratch_of(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"discover-sandbox-{pid}-*"))


def test_the_scratch_folder_of_a_killed_process_is_removed_by_the_next_validator() -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import time
            from discovery.sandbox import Validator
            validator = Validator()
            print("ready", flush=True)
            time.sleep(600)
        """)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "ready"
    (left,) = scratch_of(holder.pid)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert left.is_dir()  # SIGKILL gave it no chance to clean up

    with Validator():
        assert not left.exists()
        (mine,) = scratch_of(os.getpid())
        with Validator():  # another one in a live process keeps what is in use
            assert mine.is_dir() and len(scratch_of(os.getpid())) == 2
    assert scratch_of(os.getpid()) == []
