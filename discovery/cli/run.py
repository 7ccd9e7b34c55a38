"""`discover run`: the discovery loop from the command line.

Each option that configures the run is a field of `RunConfig` and takes its help and default from
it; its typer default is None, so that only what the user typed overrides a `--config` file.
"""

import json
from functools import partial
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel

from discovery.cli import app, error_console, print_error
from discovery.cli.common import EVALUATOR_OPTIONS, RUNS_DIR, run_id
from discovery.config import ExecutorSettings, RacingSettings, RunConfig
from discovery.errors import UserError
from discovery.options import parse_options

EPILOG = (
    "**Config file** (`--config FILE`, YAML): each option above that configures the run has a key of the "
    "same name, with dashes or underscores (`context-best: 3`, `seed_objectives: [dpo, slic]`); `--set` "
    "options go under `evaluator_options:`. The file's values replace the defaults and the command "
    "line's replace the file's, key by key: `--set beta=0.3` changes `beta` and keeps the file's other "
    "evaluator options. `--dry-run` prints the resolved configuration in this form."
)


def _option(field: str, *short: str, model: type[BaseModel] = RunConfig) -> Any:
    """The `--field-name` option of a `RunConfig` field (or of one of its sections): the model's
    description and default as help."""
    info = model.model_fields[field]
    meaning = info.description or ""
    default = info.get_default(call_default_factory=True)
    shown = "" if default is None else f" [default: {default}]"
    help_text = f"{meaning[:1].upper()}{meaning[1:]}.{shown}"
    return typer.Option(None, f"--{field.replace('_', '-')}", *short, help=help_text)


def _refuse_changes(overrides: dict[str, Any], config_file: Path | None, dry_run: bool) -> None:
    """A resumed run keeps its stored configuration: only --generations may change."""
    given = [key for key, value in overrides.items() if value is not None and key != "generations"]
    dropped = ["--set" if key == "evaluator_options" else f"--{key.replace('_', '-')}" for key in given]
    if config_file:
        dropped.append("--config")
    if dry_run:
        dropped.append("--dry-run")
    if dropped:
        raise UserError(
            "--resume continues with the run's stored configuration; only --generations may change "
            f"(drop {', '.join(dropped)})"
        )


@app.command("run", epilog=EPILOG)
def run_command(
    generations: int | None = _option("generations", "-g"),
    population: int | None = _option("population", "-p"),
    evaluator: str | None = _option("evaluator", "-e"),
    evaluator_options: list[str] = EVALUATOR_OPTIONS,
    seeds: str | None = _option("seeds"),
    first_seeds: int | None = _option("first_seeds", model=RacingSettings),
    proposer: str | None = _option("proposer"),
    model: str | None = _option("model"),
    base_url: str | None = _option("base_url"),
    seed_objectives: str | None = _option("seed_objectives"),
    context_best: int | None = _option("context_best"),
    context_recent: int | None = _option("context_recent"),
    random_seed: int | None = _option("random_seed"),
    request_timeout: float | None = _option("request_timeout"),
    connect_timeout: float | None = _option("connect_timeout"),
    max_retries: int | None = _option("max_retries"),
    max_reply_bytes: int | None = _option("max_reply_bytes"),
    executor: str | None = typer.Option(
        None, "--executor", help="Where candidates train: local (this machine) or slurm. [default: local]"
    ),
    workers: int | None = _option("workers", model=ExecutorSettings),
    max_candidates: int | None = _option("max_candidates"),
    max_cost_usd: float | None = _option("max_cost_usd"),
    time_limit: str | None = _option("time_limit"),
    on_interrupt: str | None = _option("on_interrupt"),
    runs_dir: Path = RUNS_DIR,
    resume: str | None = typer.Option(
        None, "--resume", callback=run_id, help="Continue the run with this id where it stopped."
    ),
    config_file: Path | None = typer.Option(
        None, "--config", help="YAML file with any of the options above (see below)."
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Print the resolved configuration (YAML for --config) and the plan of the run; run nothing.",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON document (run id, leaderboard; or the dry run's plan)."
    ),
) -> None:
    """Let a proposer (an LLM, or the offline built-in one) discover objectives, trained and scored by an
    evaluator, with everything recorded in a resumable archive under the runs folder."""
    from discovery.config import build_config, load_config_file
    from discovery.loop import SilentObserver
    from discovery.runner import RunInterrupted, build_evaluator, resume_run, start_run
    from discovery.ui import plain_console
    from discovery.ui.live import LiveRunDisplay
    from discovery.ui.views import leaderboard_table

    overrides = {
        "generations": generations,
        "population": population,
        "evaluator": evaluator,
        "evaluator_options": parse_options(evaluator_options) or None,
        "seeds": seeds,
        "racing": {"first_seeds": first_seeds} if first_seeds is not None else None,
        "proposer": proposer,
        "model": model,
        "base_url": base_url,
        "seed_objectives": seed_objectives,
        "context_best": context_best,
        "context_recent": context_recent,
        "random_seed": random_seed,
        "request_timeout": request_timeout,
        "connect_timeout": connect_timeout,
        "max_retries": max_retries,
        "max_reply_bytes": max_reply_bytes,
        "executor": {
            key: value for key, value in {"kind": executor, "workers": workers}.items() if value is not None
        }
        or None,
        "max_candidates": max_candidates,
        "max_cost_usd": max_cost_usd,
        "time_limit": time_limit,
        "on_interrupt": on_interrupt,
    }
    if resume is not None:
        _refuse_changes(overrides, config_file, dry_run)
        build_config({}, {"generations": generations})  # a new target is checked as a new run's would be
        execute = partial(resume_run, runs_dir, resume, generations)
    else:
        config = build_config(load_config_file(config_file) if config_file else {}, overrides)
        if dry_run:
            from discovery.dry_run import print_run_plan

            print_run_plan(config, runs_dir, as_json)
            return
        task = build_evaluator(config, runs_dir)  # a bad evaluator option is one line, before the display
        execute = partial(start_run, runs_dir, config, evaluator=task)
    observer = SilentObserver() if as_json else LiveRunDisplay()
    try:
        with observer:
            outcome = execute(observer=observer)
    except RunInterrupted as interrupted:  # printed after the display closed, so it stays on screen
        error_console.print(f"interrupted; continue with: discover run --resume {interrupted.run_id}")
        raise typer.Exit(130) from None

    if as_json:
        typer.echo(json.dumps(outcome.to_json(), indent=2))
    else:
        title = f"Leaderboard of run {outcome.run.id} ({outcome.run.status.value})"
        plain_console().print(leaderboard_table(list(enumerate(outcome.leaderboard, start=1)), title))
    if outcome.stopped_reason:
        print_error("stopped", outcome.stopped_reason)
        raise typer.Exit(1)
