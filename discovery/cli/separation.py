"""`discover separation`: does each variant of a task suite separate known objectives?"""

import json
from dataclasses import dataclass
from pathlib import Path

import typer

from discovery.cli import app
from discovery.cli.common import EVALUATOR_OPTIONS, RUNS_DIR
from discovery.cli.evaluate import measured
from discovery.config import SEED_FORMS, RacingSettings, RunConfig, read_seeds
from discovery.errors import UserError
from discovery.objectives.objective import canonical_name, shipped_names
from discovery.options import parse_options
from discovery.paths import cache_root
from discovery.separation import (
    ALPHA,
    SEEDS_TO_SEPARATE,
    ObjectiveFigures,
    VariantSeparation,
    lowest_p_value,
    separation,
)
from discovery.suite import DEFAULT, SINGLE
from discovery.ui import plain_console
from discovery.ui.fitted import Column, FittedTable
from discovery.untrusted import visible
from evaluators import Evaluator

_console = plain_console(stderr=True)
TASK_ROLE = "task"  # the role of the evaluator's task alone (`--suite single`, or no default suite)


@dataclass(frozen=True)
class _Variant:
    role: str  # meta-train, meta-test, or task
    options: dict  # the evaluator options it changes
    description: str  # `noisy (bradley_terry_temperature=0.3)`


def _variants(task: Evaluator, choice: str) -> dict[str, _Variant]:
    """The variants `--suite` names, by name: a suite file's, a shipped suite's, `default`'s, or with
    `single` (or no default suite) the task alone, one variant named after the evaluator."""
    from discovery.suite import read_suite_file
    from evaluators.suite import chosen_suite

    in_file = choice.endswith((".yaml", ".yml"))
    suite = read_suite_file(Path(choice)) if in_file else chosen_suite(task, choice)
    if suite is None:
        return {task.name: _Variant(TASK_ROLE, {}, f"{task.name} (the task as configured)")}
    every = {**suite.meta_train, **suite.meta_test}
    roles = suite.roles()
    return {name: _Variant(role, every[name], suite.describe_variant(name)) for name, role in roles.items()}


def _chosen(variants: dict[str, _Variant], names: list[str]) -> dict[str, _Variant]:
    """The variants `--variant` names (all when none), in the suite's order."""
    unknown = [name for name in names if name not in variants]
    if unknown:
        raise UserError(f"the suite has no variant {unknown[0]!r} (its variants: {', '.join(variants)})")
    return {name: variant for name, variant in variants.items() if not names or name in names}


def _interval(figures: ObjectiveFigures) -> str:
    return "-" if figures.low is None or figures.high is None else f"{figures.low:.3f}-{figures.high:.3f}"


def _versus(figures: ObjectiveFigures) -> str:
    if figures.is_baseline:
        return "baseline"
    if figures.difference is None or figures.p_value is None:
        return "-"
    return f"{figures.difference:+.3f} ({figures.p_value:.2g})"


def _table(found: VariantSeparation, description: str) -> FittedTable:
    """Every objective on the variant at its best beta, the largest difference with the baseline first."""
    columns = [
        Column("objective", whole=True),
        Column("beta", justify="right", drop=2),
        Column("fitness", justify="right"),
        Column("interval", justify="right", drop=1),
        Column(f"vs {found.baseline} (p)", justify="right"),
        Column("", whole=True),
    ]
    table = FittedTable(columns, title=visible(f"{description}, {found.role}", one_line=True))
    for figures in found.objectives:
        table.add_row(
            visible(figures.objective, one_line=True),
            "-" if figures.beta is None else f"{figures.beta:g}",
            f"{figures.fitness:.3f}",
            _interval(figures),
            _versus(figures),
            "beats" if figures.beats_baseline else "",
        )
    return table


def _document(found: VariantSeparation, failures: dict[str, str | None]) -> dict:
    return {
        "variant": found.variant,
        "role": found.role,
        "baseline": found.baseline,
        "separates": found.separates,
        "verdict": found.verdict(),
        "objectives": [
            {
                "objective": f.objective,
                "beta": f.beta,
                "fitness": f.fitness,
                "low": f.low,
                "high": f.high,
                "n": f.n,
                "difference": f.difference,
                "difference_se": f.difference_se,
                "p_value": f.p_value,
                "pairs": f.pairs,
                "is_baseline": f.is_baseline,
                "beats_baseline": f.beats_baseline,
            }
            for f in found.objectives
        ],
        "failures": failures,
    }


@app.command("separation")
def separation_command(
    objectives: list[str] = typer.Argument(
        None,
        metavar="OBJECTIVE",
        help="Shipped names, .py files, or archived RUN/CANDIDATE. [default: every shipped objective]",
    ),
    suite: str = typer.Option(
        DEFAULT,
        "--suite",
        metavar="NAME|FILE.yaml",
        help=f"A suite the evaluator ships (`discover evaluators` lists them), {DEFAULT} (its default "
        f"suite), {SINGLE} (its task alone: one variant named after the evaluator), or a YAML file "
        "defining one (description, meta_train, meta_test: what a run's config holds under suite:).",
    ),
    variants: list[str] = typer.Option(
        [], "--variant", metavar="NAME", help="Measure only this variant (repeatable). [default: every one]"
    ),
    seeds: str = typer.Option(
        str(SEEDS_TO_SEPARATE),
        "--seeds",
        "-s",
        help=f"Training seeds, {SEED_FORMS}; every seed trains at every beta of each variant's grid. "
        f"With n seeds no p-value is below 2/2**n: fewer than {SEEDS_TO_SEPARATE} can never separate.",
    ),
    evaluator: str = typer.Option(
        RunConfig.model_fields["evaluator"].default, "--evaluator", "-e", help="The task the suite varies."
    ),
    baseline: str = typer.Option(
        RacingSettings.model_fields["baseline"].default,
        "--baseline",
        help="What an objective must beat; trained too when not among the objectives.",
    ),
    evaluator_options: list[str] = EVALUATOR_OPTIONS,
    runs_dir: Path = RUNS_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else."),
) -> None:
    """Does each variant of a task suite separate known objectives? A variant earns its place in a
    suite only where the choice of loss matters.

    On every variant (meta-train and meta-test alike), every objective trains at every beta of the
    grid on every seed, all variants in one batch. Each objective, the baseline too, is taken at its
    best beta (the highest mean fitness over the seeds) and paired with the baseline seed by seed; a
    variant **separates** when some objective beats the baseline with an exact sign-flip p < 0.05,
    and is flagged DOES NOT SEPARATE otherwise. Flags are findings (exit code 0); a failed training
    exits with 1, the rest still measured."""
    from discovery.execution.grid import checked_objectives
    from evaluators.registry import get_evaluator

    chosen_seeds = read_seeds(seeds)
    options = parse_options(evaluator_options)
    cache = cache_root(runs_dir)
    task = get_evaluator(evaluator, options, cache)
    chosen = _chosen(_variants(task, suite), variants)
    tasks: dict[str, Evaluator] = {}
    for name, variant in chosen.items():
        try:
            tasks[name] = get_evaluator(evaluator, {**options, **variant.options}, cache)
        except UserError as error:
            raise UserError(f"suite variant {name}: {error}") from error
    specs = list(objectives or shipped_names())
    if not any(_same(spec, baseline) for spec in specs):
        specs.insert(0, baseline)
    resolved = checked_objectives(specs, runs_dir, lambda note: _console.print(visible(note)))
    baseline_name = resolved[next(index for index, spec in enumerate(specs) if _same(spec, baseline))].name
    count, lowest = len(chosen_seeds), lowest_p_value(len(chosen_seeds))
    if count < SEEDS_TO_SEPARATE:
        _console.print(
            f"warning: with {count} seeds no p-value is below {lowest:.2g}: no variant can separate at "
            f"p < {ALPHA:g} (use --seeds {SEEDS_TO_SEPARATE} or more)",
            markup=False,
        )
    found = measured(tasks, resolved, chosen_seeds, cache)
    results = {
        name: separation(name, variant.role, found[name].trainings, baseline_name)
        for name, variant in chosen.items()
    }
    if as_json:
        document = {
            "evaluator": task.name,
            "seeds": chosen_seeds,
            "alpha": ALPHA,
            "lowest_p_value": lowest,
            "variants": [_document(results[name], found[name].failures) for name in chosen],
        }
        typer.echo(json.dumps(document))
    else:
        for name, result in results.items():
            plain_console().print(_table(result, chosen[name].description))
            _say(result.verdict())
            for objective, reason in found[name].failures.items():
                _console.print(visible(f"{objective} failed on {name}: {reason}"), markup=False)
        _say(f"note: with {count} seeds no p-value is below 2/2**{count} = {lowest:.2g}")
        for name, result in results.items():
            _say(f"{name} ({result.role}): {result.verdict()}")
    if any(outcome.failures for outcome in found.values()):
        raise typer.Exit(1)


def _say(line: str) -> None:
    """A line of the result on stdout, as typed (objective names are the user's, or an LLM's)."""
    plain_console().print(visible(line, one_line=True), markup=False, highlight=False)


def _same(spec: str, baseline: str) -> bool:
    """Whether an objective's name or spec is the baseline's (`sigmoid` is `dpo`)."""
    return (canonical_name(spec) or spec) == (canonical_name(baseline) or baseline)
