"""Options that several commands take, defined once so that every command spells and reads them alike."""

import typer

from discovery.paths import DEFAULT_RUNS_DIR, RUNS_DIR_ENV

RUNS_DIR = typer.Option(
    DEFAULT_RUNS_DIR,
    "--runs-dir",
    envvar=RUNS_DIR_ENV,
    help="Folder holding the runs, and their cache/ unless $DISCOVER_CACHE is set.",
)
EVALUATOR_OPTIONS = typer.Option(
    [],
    "--set",
    metavar="KEY=VALUE",
    help="Evaluator option, repeatable, e.g. --set preset=tiny --set beta=0.1; `discover evaluators` lists "
    "each evaluator's options (in a run's YAML config: evaluator_options).",
)
