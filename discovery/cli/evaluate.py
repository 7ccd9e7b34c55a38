"""`discover evaluate`: train and score objectives on an evaluator, and print the figures."""

import contextlib
import json
import sys
import tempfile
from pathlib import Path

import typer

from discovery.cli import app
from discovery.cli.common import EVALUATOR_OPTIONS, RUNS_DIR
from discovery.config import MAX_SEEDS
from discovery.errors import UserError
from discovery.options import parse_options
from discovery.paths import cache_root
from discovery.quiet import quiet_libraries
from discovery.resolve import resolve_objective
from discovery.ui import plain_console
from discovery.ui.fitted import Column, FittedTable

_console = plain_console(stderr=True)
WORKER_LOG = "evaluate-worker.log"  # the evaluation worker's own output, beside the built tasks


def _table(results: list) -> FittedTable:
    columns = [
        Column("objective", whole=True),
        Column("fitness ± s.e.", justify="right"),
        Column("reward", justify="right", drop=2),
        Column("KL", justify="right"),
        Column("accuracy", justify="right", drop=1),
        Column("seconds", justify="right", drop=3),
    ]
    table = FittedTable(columns, title="Evaluation")

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
        1, "--seeds", "-s", min=1, max=MAX_SEEDS, help="Train and score with seeds 0..K-1; report mean ± s.e."
    ),
    evaluator_options: list[str] = EVALUATOR_OPTIONS,
    runs_dir: Path = RUNS_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else."),
) -> None:
    """Train a policy with each OBJECTIVE and score it against the reference (fitness = win rate).

    Each objective is validated by the sandbox first; training runs in a confined process, scoring
    in one that never ran the objective's code. An objective whose training fails is reported as
    failed (exit code 1); the others are still scored."""
    from discovery.execution.job import JobSettings
    from discovery.execution.local import LocalExecutor
    from discovery.sandbox import Validator
    from discovery.ui.evaluation import EvaluationBar, EvaluationLines
    from discovery.ui.log_lines import progress_logging
    from evaluators.registry import get_evaluator

    resolved = [resolve_objective(spec, runs_dir) for spec in objectives]
    options = parse_options(evaluator_options)
    cache = cache_root(runs_dir)
    task = get_evaluator(evaluator, options, cache)
    with Validator() as validator:  # a verdict the loop would act on is a note here: users measure
        for objective in resolved:
            verdict = validator.validate(objective.source)
            if verdict.stage == "static":
                raise UserError(f"objective {objective.name} rejected by the static gate: {verdict.reason}")
            if not verdict.ok:
                note = f"note: {objective.name} fails the sandbox's {verdict.stage} check ({verdict.reason})"
                _console.print(f"{note}; training it anyway")
    quiet_libraries()
    settings = JobSettings.of(task)
    results, failures = [], {}
    terminal = _console.is_terminal
    display = EvaluationBar(_console, seeds) if terminal else EvaluationLines(len(resolved), seeds)
    # Libraries may print to stdout; with --json stdout carries the JSON document only
    with (
        contextlib.redirect_stdout(sys.stderr),
        progress_logging(lines_on_stderr=not terminal),
        display,
        LocalExecutor(log=cache / WORKER_LOG) as executor,
        tempfile.TemporaryDirectory(prefix="discover-evaluate-") as work,
    ):
        task.prepare(display.preparing)
        for index, objective in enumerate(resolved):
            report = display.objective(index, objective.name)
            job = settings.job(objective, list(range(seeds)), Path(work) / str(index))
            outcome = executor.evaluate(job, report)
            display.finished(objective.name, outcome.result, outcome.failure)
            if outcome.result is None:
                failures[objective.name] = outcome.failure
            else:
                results.append(outcome.result)
    if as_json:
        document = {"results": [result.model_dump() for result in results], "failures": failures}
        typer.echo(json.dumps(document))
    else:
        plain_console().print(_table(results))
        for name, reason in failures.items():
            _console.print(f"{name} failed: {reason}")
    if failures:
        raise typer.Exit(1)
