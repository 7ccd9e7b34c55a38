"""The `discover` command run three ways: as a user would, in a separate process (its exit code and
its output); much faster (no torch import per call), in this process through typer's `CliRunner`;
or in this process through the console entry point `main()`, as the installed script calls it, with
pytest capturing what it prints."""

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from discovery.cli import app, load_commands, main


def discover_subprocess(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict | None = None):
    """`discover ARGS...` in a subprocess; returns the CompletedProcess (text mode)."""
    return subprocess.run(
        [sys.executable, "-m", "discovery.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "160", **(env or {})},
    )


def discover_cli_runner(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """`discover ARGS...` in this process: exit code, stdout and stderr apart, and `exception` set
    when something escaped the command (a `SystemExit` for an exit code other than 0, else a bug)."""
    load_commands()
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "160", **(env or {})}, prog_name="discover")


def discover_main(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """`discover ARGS...` through the console entry point in this process: (exit code, stdout, stderr)."""
    argv = sys.argv
    sys.argv = ["discover", *args]
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
    finally:
        sys.argv = argv
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def finished_run_id(done: subprocess.CompletedProcess) -> str:
    """The run id a `discover run ... --json` subprocess printed, once it ended cleanly as `finished`."""
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    document = json.loads(done.stdout)
    assert document["status"] == "finished"
    return document["run_id"]
