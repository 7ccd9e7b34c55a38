"""`discover run`: the discovery loop from the command line."""

import json
from pathlib import Path

import typer

from discovery.cli import app, error_console
from discovery.errors import UserError
from discovery.options import parse_options


def _judge_options(model: str | None, base_url: str | None) -> dict:
    options = {"judge_model": model, "judge_base_url": base_url}
    return {key: value for key, value in options.items() if value is not None}


@app.command("run")
def run_command(
    generations: int | None = typer.Option(
        None, "--generations", "-g", help="Generations to run [default: 10]."
    ),
    population: int | None = typer.Option(
        None, "--population", "-p", help="Candidates per generation [default: 1]."
    ),
    evaluator: str | None = typer.Option(None, "--evaluator", "-e", help="Inner task [default: sentiment]."),
    proposer: str | None = typer.Option(
        None,
        "--proposer",
        help="openai or builtin [default: openai when an endpoint is configured, else builtin].",
    ),
    model: str | None = typer.Option(None, "--model", help="Model name at the OpenAI-compatible endpoint."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="OpenAI-compatible endpoint (vLLM, Ollama, ...)."
    ),
    seeds: int | None = typer.Option(None, "--seeds", help="Training seeds per candidate [default: 1]."),
    evaluator_options: list[str] = typer.Option(
        [], "--set", help="Evaluator option as key=value, e.g. --set preset=tiny --set beta=0.1. Repeatable."
    ),
    seed_objectives: str | None = typer.Option(
        None,
        "--seed-objectives",
        help="Comma-separated shipped objectives to seed the archive [default: all].",
    ),
    judge_model: str | None = typer.Option(None, "--judge-model", help="Judge model (mtbench, alpaca)."),
    judge_base_url: str | None = typer.Option(
        None, "--judge-base-url", help="OpenAI-compatible endpoint of the judge (mtbench, alpaca)."
    ),
    runs_dir: Path | None = typer.Option(None, "--run-dir", help="Folder of runs [default: runs/]."),
    resume: str | None = typer.Option(
        None, "--resume", help="Continue the run with this id where it stopped."
    ),
    config_file: Path | None = typer.Option(None, "--config", help="YAML file with any of these options."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the plan of the run (training, scoring); run nothing."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON document (run id, leaderboard) at the end."
    ),
) -> None:
    """Let a proposer (an LLM, or the offline built-in one) discover objectives, trained and scored by an
    evaluator, with everything recorded in a resumable archive under the runs folder."""
    from rich.console import Console

    from discovery.config import build_config, load_config_file
    from discovery.loop import SilentObserver
    from discovery.paths import default_runs_dir
    from discovery.runner import RunInterrupted, resume_run, start_run
    from discovery.ui.live import LiveRunDisplay
    from discovery.ui.views import leaderboard_table

    runs_dir = runs_dir or default_runs_dir()
    overrides = {
        "generations": generations,
        "population": population,
        "evaluator": evaluator,
        "proposer": proposer,
        "model": model,
        "base_url": base_url,
        "seeds": seeds,
        "seed_objectives": seed_objectives.split(",") if seed_objectives else None,
        "evaluator_options": _judge_options(judge_model, judge_base_url) | parse_options(evaluator_options)
        or None,
    }
    if dry_run:
        from discovery.dry_run import print_plan

        print_plan(build_config(load_config_file(config_file) if config_file else {}, overrides), as_json)
        return
    observer = SilentObserver() if as_json else LiveRunDisplay()
    try:
        with observer:
            if resume:
                changed = [
                    f"--{key.replace('_', '-')}"
                    for key, value in overrides.items()
                    if value and key != "generations"
                ]
                if changed or config_file:
                    dropped = ", ".join(changed + (["--config"] if config_file else []))
                    raise UserError(
                        "--resume continues with the run's stored configuration; only --generations "
                        f"may change (drop {dropped})"
                    )
                outcome = resume_run(runs_dir, resume, generations=generations, observer=observer)
            else:
                file_values = load_config_file(config_file) if config_file else {}
                config = build_config(file_values, overrides)
                outcome = start_run(runs_dir, config, observer=observer)
    except RunInterrupted as interrupted:  # printed after the display closed, so it stays on screen
        error_console.print(f"interrupted; continue with: discover run --resume {interrupted.run_id}")
        raise typer.Exit(130) from None

    if as_json:
        typer.echo(json.dumps(outcome.to_json(), indent=2))
    else:
        title = f"Leaderboard of run {outcome.run.id} ({outcome.run.status.value})"
        Console().print(leaderboard_table(list(enumerate(outcome.leaderboard, start=1)), title))
    if outcome.stopped_reason:
        error_console.print(f"[red]stopped:[/red] {outcome.stopped_reason}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
