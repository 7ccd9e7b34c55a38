"""`discover browse`: the full-screen archive browser (Textual), imported only when asked for."""

from pathlib import Path

import typer

from discovery.cli import app
from discovery.cli.common import RUNS_DIR, run_id


@app.command("browse")
def browse(
    run: str = typer.Argument(
        None, callback=run_id, help="Run id or a unique prefix of it (default: the newest run)."
    ),
    runs_dir: Path = RUNS_DIR,
) -> None:
    """Explore the runs full-screen; follows a run that is still being written.

    A run list, a sortable and filterable candidate table, the highlighted candidate as `discover show`
    prints it, and the run's fitness by generation. Keys are shown in the footer; q quits.
    """
    from discovery.ui.browser import Browser

    Browser(runs_dir, run).run()
