"""Run the `discover` command as a user would: a separate process, its exit code and its output; or,
much faster (no torch import per call), in this process through typer's `CliRunner`."""

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from typer.testing import CliRunner, Result

from discovery.cli import app, load_commands


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


def discover_in_process(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """`discover ARGS...` in this process: exit code, stdout and stderr apart, and `exception` set
    when something escaped the command (a `SystemExit` for an exit code other than 0, else a bug)."""
    load_commands()
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "160", **(env or {})}, prog_name="discover")
