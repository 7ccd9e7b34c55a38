"""`discover evaluate`: train and score objectives on an evaluator, and print the figures."""

import contextlib
import json
import sys
import tempfile
from pathlib import Path

import typer

from discovery.cli import app
from discovery.cli.common import EVALUATOR_OPTIONS, RUNS_DIR
from discovery.config import SEED_FORMS, RacingSettings, RunConfig, read_seeds
from discovery.execution.grid import GridOutcome, checked_objectives, train_grid
from discovery.fitness import summarise
from discovery.objectives import Objective
from discovery.objectives.objective import canonical_name
from discovery.options import parse_options
from discovery.paths import cache_root
from discovery.quiet import quiet_libraries
from discovery.records import EvaluationResult, SeedResult
from discovery.ui import plain_console
from discovery.ui.fitted import Column, FittedTable
from discovery.untrusted import visible
from evaluators import Evaluator

_console = plain_console(stderr=True)
WORKER_LOG = "evaluate-worker.log"  # the evaluation worker's own output, beside the built tasks


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(results: list[EvaluationResult]) -> FittedTable:
    """Each objective at its best beta: mean, interval, seeds, the paired comparison with DPO; the
    names whole, the less useful columns gone on a narrow terminal."""
    columns = [
        Column("objective", whole=True),
        Column("fitness", justify="right"),
        Column("interval", justify="right", drop=1),
        Column("n", justify="right", drop=3),
        Column("beta", justify="right", drop=4),
        Column("vs dpo (p)", justify="right", drop=2),
        Column("collapsed", justify="right", drop=5),
        Column("reward", justify="right", drop=7),
        Column("KL", justify="right", drop=6),
        Column("accuracy", justify="right", drop=8),
        Column("seconds", justify="right", drop=9),
    ]
    table = FittedTable(columns, title="Evaluation (each objective at its best beta)")
    for result in results:
        paired = result.paired
        table.add_row(
            result.objective,
            f"{result.fitness:.3f}",
            "-" if result.fitness_low is None else f"{result.fitness_low:.3f}-{result.fitness_high:.3f}",
            str(result.n),
            _fmt(result.best_beta, 2),
            "-" if paired is None else f"{paired.difference:+.3f} ({paired.p_value:.2g})",
            f"{result.collapse_rate:.0%}",
            _fmt(result.reward),
            _fmt(result.kl, 2),
            _fmt(result.accuracy),
            f"{result.seconds:.0f}",
        )
    return table


def _beta_table(results: list[EvaluationResult]) -> FittedTable:
    """Every objective at every beta of the grid: the reward-KL trade-off the best beta comes from."""
    columns = [
        Column("objective", whole=True),
        Column("beta", justify="right"),
        Column("n", justify="right", drop=3),
        Column("fitness ± s.e.", justify="right"),
        Column("reward", justify="right", drop=2),
        Column("KL", justify="right"),
        Column("collapsed", justify="right", drop=1),
    ]
    table = FittedTable(columns, title="Per beta")
    for result in results:
        for figures in result.betas:
            spread = "" if figures.fitness_se is None else f" ± {figures.fitness_se:.3f}"
            table.add_row(
                result.objective,
                _fmt(figures.beta, 2),
                str(figures.n),
                f"{figures.fitness:.3f}{spread}",
                _fmt(figures.reward),
                _fmt(figures.kl, 2),
                f"{figures.collapse_rate:.0%}",
            )
    return table


def _summaries(trainings: dict[str, list[SeedResult]], baseline_name: str) -> list[EvaluationResult]:
    """Each objective's figures, paired with the baseline's when it was evaluated (by canonical name,
    so `sigmoid` counts as `dpo`)."""
    canonical = canonical_name(baseline_name) or baseline_name
    baseline_key = next((name for name in trainings if (canonical_name(name) or name) == canonical), None)
    baseline = summarise(baseline_key, trainings[baseline_key]) if baseline_key else None
    return [
        baseline if name == baseline_key else summarise(name, runs, baseline=baseline)
        for name, runs in trainings.items()
    ]


def measured(
    tasks: dict[str, Evaluator], objectives: list[Objective], seeds: list[int], cache: Path
) -> dict[str, GridOutcome]:
    """Train `objectives` on `tasks` (`discovery.execution.grid.train_grid`) with a run's local
    workers (one per core as memory allows, or per GPU), their output in a log beside the built
    tasks, and progress on stderr: a bar on a terminal, else a line per job's phase."""
    from discovery.execution.local import LocalExecutor, default_slots
    from discovery.ui.evaluation import EvaluationBar, EvaluationLines
    from discovery.ui.log_lines import progress_logging

    quiet_libraries()
    terminal = _console.is_terminal
    display = EvaluationBar(_console) if terminal else EvaluationLines(len(tasks) * len(objectives))
    # Libraries may print to stdout; with --json stdout carries the JSON document only
    with (
        contextlib.redirect_stdout(sys.stderr),
        progress_logging(lines_on_stderr=not terminal),
        display,
        LocalExecutor(slots=default_slots(), log=cache / WORKER_LOG) as executor,
        tempfile.TemporaryDirectory(prefix="discover-evaluate-") as work,
    ):
        return train_grid(executor, tasks, objectives, seeds, Path(work), display)


@app.command("evaluate")
def evaluate(
    objectives: list[str] = typer.Argument(
        ...,
        metavar="OBJECTIVE",
        help="Shipped names (see `discover objectives`), .py files, or archived RUN/CANDIDATE.",
    ),
    evaluator: str = typer.Option(
        RunConfig.model_fields["evaluator"].default,
        "--evaluator",
        "-e",
        help="The task to train and score on.",
    ),
    seeds: str = typer.Option(
        str(RunConfig.model_fields["seeds"].default),
        "--seeds",
        "-s",
        help=f"Training seeds, {SEED_FORMS}; every seed trains at every beta of the evaluator's grid.",
    ),
    baseline: str = typer.Option(
        RacingSettings.model_fields["baseline"].default,
        "--baseline",
        help="When evaluated too, every other objective is paired with it seed by seed.",
    ),
    evaluator_options: list[str] = EVALUATOR_OPTIONS,
    runs_dir: Path = RUNS_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else."),
) -> None:
    """Train a policy with each OBJECTIVE and score it against the reference (fitness = win rate).

    Every seed trains at every beta of the evaluator's grid (`--set betas=[0.1]` for one), one job per
    objective and seed, as many at once as a run's workers (one per core as memory allows, or per
    GPU); each objective is reported at its best beta, with a 90% interval, and paired with the
    baseline (DPO) on the same seeds when that is evaluated too. Each objective is validated by the
    sandbox first; training runs in a confined process, scoring in one that never ran the objective's
    code. An objective whose training fails is reported as failed (exit code 1); the others are still
    scored."""
    from evaluators.registry import get_evaluator

    chosen_seeds = read_seeds(seeds)
    options = parse_options(evaluator_options)
    cache = cache_root(runs_dir)
    task = get_evaluator(evaluator, options, cache)
    resolved = checked_objectives(objectives, runs_dir, lambda note: _console.print(visible(note)))
    found = measured({task.name: task}, resolved, chosen_seeds, cache)[task.name]
    trainings, failures = found.trainings, found.failures
    results = _summaries(trainings, baseline)
    if as_json:
        document = {"results": [result.model_dump() for result in results], "failures": failures}
        typer.echo(json.dumps(document))
    else:
        plain_console().print(_table(results))
        if len(task.betas()) > 1:
            plain_console().print(_beta_table(results))
        for name, reason in failures.items():
            _console.print(visible(f"{name} failed: {reason}"))
    if failures:
        raise typer.Exit(1)
