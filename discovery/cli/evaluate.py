"""`discover evaluate`: train and score objectives on an evaluator, and print the figures."""

import contextlib
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from discovery.cli import app
from discovery.cli.common import EVALUATOR_OPTIONS, RUNS_DIR
from discovery.errors import ServiceUnavailable, UserError
from discovery.objectives import Objective
from discovery.objectives.compile import ObjectiveRejected
from discovery.options import parse_options
from discovery.paths import cache_root
from discovery.quiet import quiet_libraries
from discovery.records import EvaluationResult, SeedResult
from discovery.resolve import resolve_objective

_console = Console(stderr=True)


def _compiled(objective: Objective) -> None:
    """Fail fast, before any training, on source that does not pass the gate or does not run."""
    import torch

    try:
        loss = objective.compile()
    except ObjectiveRejected as error:
        raise UserError(f"objective {objective.name} rejected: {error}") from error
    except Exception as error:  # the source ran at import time and failed: the user's code, not ours
        raise UserError(
            f"objective {objective.name} failed to load: {type(error).__name__}: {error}"
        ) from error
    inputs = [torch.randn(4, dtype=torch.float64) - 10 for _ in range(4)]
    try:
        losses = loss(*inputs, 0.1)
    except Exception as error:
        raise UserError(
            f"objective {objective.name} failed on a test batch: {type(error).__name__}: {error}"
        ) from error
    if not isinstance(losses, torch.Tensor) or losses.shape != (4,):
        shape = tuple(losses.shape) if isinstance(losses, torch.Tensor) else type(losses).__name__
        raise UserError(f"objective {objective.name} must return per-pair losses of shape (N,), got {shape}")


def _evaluate_seed(task, objective: Objective, seed: int, report) -> SeedResult:
    """One seed; an objective that breaks training (NaN, shape errors) is the user's, in one line."""
    try:
        return task.evaluate_seed(objective, seed, report)
    except (UserError, ServiceUnavailable, KeyboardInterrupt):
        raise
    except Exception as error:
        raise UserError(
            f"training or scoring {objective.name} (seed {seed}) failed: {type(error).__name__}: {error}"
        ) from error


def _table(results: list) -> Table:
    table = Table(title="Evaluation")
    for column in ("objective", "fitness ± s.e.", "reward", "KL", "accuracy", "seconds"):
        table.add_column(column, justify="left" if column == "objective" else "right")

    def fmt(value: float | None, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    for result in results:
        table.add_row(
            result.objective,
            f"{result.fitness:.3f} ± {result.fitness_se:.3f}",
            fmt(result.reward),
            fmt(result.kl, 2),
            fmt(result.accuracy),
            f"{result.seconds:.0f}",
        )
    return table


@app.command("evaluate")
def evaluate(
    objectives: list[str] = typer.Argument(
        ...,
        metavar="OBJECTIVE",
        help="Shipped names (see `discover objectives`), .py files, or archived RUN/CANDIDATE.",
    ),
    evaluator: str = typer.Option("sentiment", "--evaluator", "-e", help="The task to train and score on."),
    seeds: int = typer.Option(
        1, "--seeds", "-s", min=1, help="Train and score with seeds 0..K-1; report mean ± s.e."
    ),
    evaluator_options: list[str] = EVALUATOR_OPTIONS,
    runs_dir: Path = RUNS_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else."),
) -> None:
    """Train a policy with each OBJECTIVE and score it against the reference (fitness = win rate)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from evaluators.registry import get_evaluator

    resolved = [resolve_objective(spec, runs_dir) for spec in objectives]
    for objective in resolved:
        _compiled(objective)
    quiet_libraries()
    task = get_evaluator(evaluator, parse_options(evaluator_options), cache_dir=cache_root(runs_dir))

    summaries = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[phase]}"),
        TimeElapsedColumn(),
    )
    # Libraries may print to stdout; with --json stdout carries the JSON document only
    with contextlib.redirect_stdout(sys.stderr), Progress(*columns, console=_console, transient=True) as bar:
        current = bar.add_task("preparing task", total=1.0, phase="")

        def report(phase: str, fraction: float | None) -> None:
            bar.update(current, completed=fraction or 0.0, phase=phase)

        task.prepare(report)
        for objective in resolved:
            per_seed = []
            for seed in range(seeds):
                bar.update(current, description=f"{objective.name} seed {seed}", completed=0.0)
                per_seed.append(_evaluate_seed(task, objective, seed, report))
            summaries.append(EvaluationResult.from_seeds(objective.name, per_seed))
    if as_json:
        typer.echo(json.dumps({"results": [summary.model_dump() for summary in summaries]}))
    else:
        Console().print(_table(summaries))
