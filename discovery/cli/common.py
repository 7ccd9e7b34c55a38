"""Options that several commands take, defined once so that every command spells and reads them alike."""

import os
from pathlib import Path

import typer

from discovery.paths import DEFAULT_RUNS_DIR, RUNS_DIR_ENV


def folder(value: Path | None) -> Path | None:
    """A folder to read or create: something else already there (a file, `/dev/null`) is refused
    before any work, not when the first write fails."""
    if value is not None and os.path.exists(value) and not os.path.isdir(value):
        raise typer.BadParameter(f"{value} is not a folder")
    return value


RUNS_DIR = typer.Option(
    DEFAULT_RUNS_DIR,
    "--runs-dir",
    envvar=RUNS_DIR_ENV,
    callback=folder,
    help="Folder holding the runs, and their cache/ unless $DISCOVER_CACHE is set.",
)
EVALUATOR_OPTIONS = typer.Option(
    [],
    "--set",
    metavar="KEY=VALUE",
    help="Evaluator option, repeatable, e.g. --set preset=tiny --set learning_rate=3e-4; `discover "
    "evaluators` lists each evaluator's options (in a run's YAML config: evaluator_options).",
)


def run_id(value: str | None) -> str | None:
    """A run id as given (`RUN`, `--run`, `--resume`): an empty one would match every run by prefix."""
    if value is not None and not value.strip():
        raise typer.BadParameter("an empty run id names no run")
    return value
