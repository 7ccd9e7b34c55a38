"""Run the `discover` command as a user would: a separate process, its exit code and its output."""

import os
import subprocess
import sys
from pathlib import Path


def discover(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict | None = None):
    """`discover ARGS...` in a subprocess; returns the CompletedProcess (text mode)."""
    return subprocess.run(
        [sys.executable, "-m", "discovery.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "160", **(env or {})},
    )
