"""`discover transfer RUN`: how a run's best fared on held-out variants of its task; `--train`
trains what is missing of that confirmation."""

import contextlib
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from discovery.cli import app
from discovery.cli.common import RUNS_DIR, run_id
from discovery.errors import UserError
from discovery.ui import plain_console
from discovery.untrusted import visible

if TYPE_CHECKING:
    from discovery.transfer import TransferSummary
    from evaluators.base import TransferVariant
    from evaluators.suite import RunTask


@app.command("transfer")
def transfer(
    run: str = typer.Argument(
        None, callback=run_id, help="Run id or a unique prefix of it (default: the newest run)."
    ),
    top: int = typer.Option(
        None, "--top", min=1, max=100, help="Best proposals to confirm. [default: the run's transfer.top]"
    ),
    seeds: int = typer.Option(
        None, "--seeds", min=1, max=1000, help="Seeds on every variant. [default: the run's transfer.seeds]"
    ),
    train: bool = typer.Option(
        False, "--train", help="Train what is missing first (it says how many trainings); else only read."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    runs_dir: Path = RUNS_DIR,
) -> None:
    """Show how the run's best proposals fared against its baseline (DPO) on held-out variants of
    the task the search never saw (a suite's meta-test; for a single task another data seed, a
    larger model, a beta between the grid's points), on fresh seeds: which still beat the baseline
    there and which are confirmed (better over all of them at once, p Holm-corrected over the
    proposals confirmed together).

    A run confirms its best itself when it ends (its `transfer:` settings), so this command only
    reads. With --train it first trains what is missing (a longer --top, a confirmation a crash cut
    short), keeping what is done; that writes to the run, so the run must not be running.
    """
    from discovery.archive import Archive
    from discovery.runner import build_task
    from discovery.transfer import run_result, summary, trainings_missing
    from discovery.ui.views import transfer_table

    with Archive.open(runs_dir, run) as archive:
        config, run_dir = archive.run().config, archive.run_dir
    top, seeds = top or config.transfer.top, seeds or config.transfer.seeds
    task = build_task(config, runs_dir)
    variants = _held_out(task, config.evaluator)
    if train:
        found = _train_missing(run_dir, task, variants, top, seeds)
    else:
        with Archive.open(runs_dir, run_dir.name) as archive:
            found = summary(archive, variants, top)
    if not found.candidates:
        raise UserError(f"run {run_dir.name} has no scored baseline and proposals to confirm")
    if as_json:
        typer.echo(json.dumps(_document(run_dir.name, found), indent=2))
        return
    plain_console().print(transfer_table(found))
    plain_console().print(f"Result: {run_result(found)}", markup=False, highlight=False)
    if not train and (missing := trainings_missing(found, seeds, top)):
        plain_console(stderr=True).print(
            f"{missing} training(s) of the confirmation are missing: `discover transfer {run_dir.name} "
            f"--top {top}{f' --seeds {seeds}' if seeds else ''} --train` trains them",
            markup=False,
            highlight=False,
        )


def _train_missing(
    run_dir: Path, task: "RunTask", variants: "list[TransferVariant]", top: int, seeds: int | None
) -> "TransferSummary":
    """Train what the confirmation lacks, after saying how many trainings that is."""
    from discovery.archive import ARCHIVE_FILE, Archive, RunLock
    from discovery.quiet import quiet_libraries
    from discovery.runner import make_executor
    from discovery.transfer import run_transfer, summary, trainings_missing

    error_console = plain_console(stderr=True)

    def notice(message: str) -> None:
        error_console.print(visible(message), markup=False, highlight=False)

    with RunLock(run_dir) as lock, Archive(lock.run_dir / ARCHIVE_FILE, writable=True) as archive:
        config = archive.run().config
        notice(f"{trainings_missing(summary(archive, variants, top), seeds, top)} training(s) to run")
        quiet_libraries()
        with (
            contextlib.redirect_stdout(sys.stderr),
            contextlib.closing(
                make_executor(config.executor, archive.run_dir, task.search.limits().memory_mb)
            ) as executor,
        ):
            return run_transfer(archive, variants, task.search.cache_dir, executor, top, seeds, notice)


def _held_out(task: "RunTask", evaluator: str) -> "list[TransferVariant]":
    """The run's held-out variants; a task without any is a user error."""
    if not task.held_out:
        raise UserError(f"the run's {evaluator} task has no held-out variants to confirm on")
    return task.held_out


def _document(run: str, found: "TransferSummary") -> dict:
    """The `--json` document: the variants, every result, the rank correlations, the verdicts."""
    from discovery.transfer import run_result

    return {
        "run": run,
        "variants": [variant.model_dump() for variant in found.variants],
        "results": [record.model_dump(mode="json") for record in found.results.values()],
        "rank_correlation": {v.name: found.rank_correlation(v.name) for v in found.variants},
        "confirmations": {id: asdict(c) | {"verdict": c.verdict} for id, c in found.confirmations().items()},
        "result": run_result(found),
    }
