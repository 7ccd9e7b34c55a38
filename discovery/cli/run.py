"""`discover run`: the discovery loop from the command line.

Each option that configures the run is a field of `RunConfig`, made an option by `FLAGS`
(`discovery.cli.flags`) with the field's help and default; the options that configure nothing the
run stores (a log file, the runs folder, a resume, a config file, a dry run) are this command's own.
"""

import json
from functools import partial
from pathlib import Path

import typer

from discovery.cli import app, error_console, print_error
from discovery.cli.common import EVALUATOR_OPTIONS, RUNS_DIR, run_id
from discovery.cli.flags import ConfigFlags, Flag, Typed
from discovery.config import RunConfig
from discovery.errors import UserError
from discovery.options import parse_options

# Every field of `RunConfig` is an option; these say what the fields alone do not, and which fields
# of the sections the command line offers.
DECLARED = (
    Flag("generations", short="-g"),
    Flag("population", short="-p"),
    Flag("evaluator", short="-e"),
    Flag("evaluator_options", option=EVALUATOR_OPTIONS, typed=list[str], read=parse_options),
    Flag("suite", typed=str, metavar="NAME"),  # a definition only in a config file
    Flag("racing.first_seeds"),
    Flag("models", metavar="MODEL[@URL]"),  # prices in a config file
    Flag("seed_objectives", typed=str),  # comma-separated, given once
    Flag("executor.kind", name="--executor"),
    Flag("executor.workers"),
    Flag("search.islands"),
    Flag("search.operators"),
    Flag("time_limit", typed=str),  # 90m, 2h
    Flag("report_to", metavar="TRACKER"),
)
FLAGS = ConfigFlags(RunConfig, *DECLARED)


def _epilog(flags: ConfigFlags) -> str:
    """The config file's keys, with those of the options that set a section's field spelled out."""
    within = ", ".join(
        f"`{option.names[0]}` is `{': '.join(option.path)}`"
        for option in flags.options
        if len(option.path) > 1
    )
    return (
        "**Config file** (`--config FILE`, YAML): each option above that configures the run has a key of "
        "the same name, with dashes or underscores (`context-best: 3`, `seed_objectives: [dpo, slic]`), "
        f"and an option of a section its key within the section ({within}); `--set` options go under "
        "`evaluator_options:`. The file's values replace the defaults and the command line's replace the "
        "file's, key by key: `--set learning_rate=3e-4` changes `learning_rate` and keeps the file's other "
        "evaluator options. `--dry-run` prints the resolved configuration in this form."
    )


def _refuse_changes(typed: Typed, config_file: Path | None, dry_run: bool) -> None:
    """A resumed run keeps its stored configuration: only --generations may change."""
    dropped = [option.names[0] for option in typed.given() if option.path != ("generations",)]
    if config_file:
        dropped.append("--config")
    if dry_run:
        dropped.append("--dry-run")
    if dropped:
        raise UserError(
            "--resume continues with the run's stored configuration; only --generations may change "
            f"(drop {', '.join(dropped)})"
        )


LOG_FILE = typer.Option(
    None,
    "--log-file",
    dir_okay=False,
    help="Also append the plain, timestamped progress lines to this file (as on stderr without a terminal).",
)


@app.command("run", epilog=_epilog(FLAGS))
@FLAGS.command
def run_command(
    typed: Typed,
    log_file: Path | None = LOG_FILE,
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
    from discovery.runner import RunInterrupted, build_task, resume_run, start_run
    from discovery.ui import plain_console
    from discovery.ui.log_lines import progress_logging
    from discovery.ui.observers import run_observers
    from discovery.ui.tracking import check_installed
    from discovery.ui.views import leaderboard_table

    if resume is not None:
        _refuse_changes(typed, config_file, dry_run)
        generations = typed.value("generations")
        build_config({}, {"generations": generations})  # a new target is checked as a new run's would be
        execute = partial(resume_run, runs_dir, resume, generations)
    else:
        config = build_config(load_config_file(config_file) if config_file else {}, typed.overrides())
        if dry_run:
            from discovery.dry_run import print_run_plan

            print_run_plan(config, runs_dir, as_json)
            return
        check_installed(config.report_to)
        task = build_task(config, runs_dir)  # a bad evaluator option is one line, before the display
        execute = partial(start_run, runs_dir, config, task=task)
    live = error_console.is_terminal and not as_json
    try:
        with (
            progress_logging(lines_on_stderr=not live, log_file=log_file),
            run_observers(live, log_file is not None, runs_dir) as observer,
        ):
            outcome = execute(observer=observer)
    except RunInterrupted as interrupted:  # printed after the display closed, so it stays the last line
        error_console.print(f"interrupted; continue with: discover run --resume {interrupted.run_id}")
        raise typer.Exit(130) from None

    if as_json:
        typer.echo(json.dumps(outcome.to_json(), indent=2))
    else:
        title = f"Leaderboard of run {outcome.run.id} ({outcome.run.status.value})"
        rows = list(enumerate(outcome.leaderboard, start=1))
        plain_console().print(leaderboard_table(rows, title, outcome.verdicts))
        plain_console().print(f"Result: {outcome.result}", markup=False, highlight=False)
    if outcome.stopped_reason:
        print_error("stopped", outcome.stopped_reason)
        raise typer.Exit(1)
