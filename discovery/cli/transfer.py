"""`discover transfer RUN`: re-evaluate a run's best on held-out variants of its task."""

import contextlib
import json
import sys
from dataclasses import asdict
from pathlib import Path

import typer

from discovery.cli import app
from discovery.cli.common import RUNS_DIR, run_id
from discovery.errors import UserError
from discovery.ui import plain_console
from discovery.untrusted import visible


@app.command("transfer")
def transfer(
    run: str = typer.Argument(
        None, callback=run_id, help="Run id or a unique prefix of it (default: the newest run)."
    ),
    top: int = typer.Option(
        None, "--top", min=1, max=100, help="Best proposals to transfer. [default: the run's transfer.top]"
    ),
    seeds: int = typer.Option(
        None, "--seeds", min=1, max=1000, help="Seeds on every variant. [default: the run's transfer.seeds]"
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    runs_dir: Path = RUNS_DIR,
) -> None:
    """Train the run's best proposals and its baseline (DPO) again on held-out variants of the task
    the search never saw (another data seed, a larger model, a beta between the grid's points), on
    fresh seeds, and show which discoveries still beat the baseline there and which are confirmed:
    better over all of them at once, p Holm-corrected over the proposals confirmed together.

    A run does this itself when it ends (its `transfer:` settings); this command does what is
    missing (a longer --top, say), keeps what is done, and shows the result. It writes to the run,
    so the run must not be running.
    """
    from discovery.archive import ARCHIVE_FILE, Archive, RunLock, find_run
    from discovery.quiet import quiet_libraries
    from discovery.runner import build_task, make_executor
    from discovery.transfer import run_result, run_transfer
    from discovery.ui.views import transfer_table

    error_console = plain_console(stderr=True)
    with (
        RunLock(find_run(runs_dir, run)) as lock,
        Archive(lock.run_dir / ARCHIVE_FILE, writable=True) as archive,
    ):
        config = archive.run().config
        task = build_task(config, runs_dir)
        if not task.held_out:
            raise UserError(f"the run's {config.evaluator} task has no held-out variants to confirm on")
        quiet_libraries()
        with (
            contextlib.redirect_stdout(sys.stderr),
            contextlib.closing(
                make_executor(config.executor, archive.run_dir, task.search.limits().memory_mb)
            ) as executor,
        ):
            found = run_transfer(
                archive,
                task.held_out,
                task.search.cache_dir,
                executor,
                top or config.transfer.top,
                seeds or config.transfer.seeds,
                lambda message: error_console.print(visible(message), markup=False, highlight=False),
            )
    if not found.candidates:
        raise UserError(f"run {lock.run_dir.name} has no scored baseline and proposals to transfer")
    if as_json:
        document = {
            "run": lock.run_dir.name,
            "variants": [variant.model_dump() for variant in found.variants],
            "results": [record.model_dump(mode="json") for record in found.results.values()],
            "rank_correlation": {v.name: found.rank_correlation(v.name) for v in found.variants},
            "confirmations": {
                id: asdict(c) | {"verdict": c.verdict} for id, c in found.confirmations().items()
            },
            "result": run_result(found),
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        plain_console().print(transfer_table(found))
        plain_console().print(f"Result: {run_result(found)}", markup=False, highlight=False)
