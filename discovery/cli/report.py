"""`discover report`: a run, or two candidates side by side, as one HTML page that opens offline."""

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from discovery.cli import app
from discovery.cli.common import RUNS_DIR, run_id
from discovery.errors import UserError
from discovery.ui import plain_console

if TYPE_CHECKING:
    from discovery.ui.curves import CurveSource


@app.command("report")
def report(
    targets: list[str] = typer.Argument(
        None,
        metavar="[RUN | A B]",
        help="A run id or a unique prefix of it (default: the newest run); or two candidates to compare, "
        "each named as for `discover show` (RUN/ID, an id or name in --run or the newest run, a shipped "
        "name).",
    ),
    output: Path = typer.Option(
        None,
        "-o",
        "--output",
        help="File to write (- = stdout). Default: report.html in the run's folder; for two candidates, "
        "compare-A-B.html here. An earlier report there is replaced; any other file is left alone.",
    ),
    run: str = typer.Option(
        None,
        "--run",
        callback=run_id,
        help="Run in which to look up the candidates A and B (default: the newest).",
    ),
    runs_dir: Path = RUNS_DIR,
) -> None:
    """Write a report: everything about a run on one self-contained HTML page, or two candidates compared.

    A run's page has fitness by generation (best so far, intervals as error bars), the reward-KL
    plane with its frontier and DPO's path across betas, fitness against beta, the lineage graph,
    the loss and gradient of the best candidates next to DPO, the leaderboard (interval, seeds, best
    beta, difference with DPO and its p-value, collapse rate) with each candidate's code and its
    diff against its parents, the held-out confirmation when the run has one (its one-line result
    opens the page), and the run's configuration, versions, cost and timings. Two candidates get
    their figures, seeds, curves and a side-by-side diff of their code. The page needs no network
    and runs no script.
    """
    from discovery.ui.curves import CurveSource
    from discovery.ui.report.output import REPORT_FILE, write_page

    targets = targets or []
    if len(targets) > 2:
        raise UserError(f"give one run, or two candidates to compare (got {len(targets)} arguments)")
    with CurveSource() as curves:
        if len(targets) == 2:
            page, default = _comparison(targets, runs_dir, run, curves)
        else:
            page, default = _run_report(targets[0] if targets else run, runs_dir, curves)
            default = default / REPORT_FILE
    if str(output) == "-":
        sys.stdout.write(page)
        return
    path = output or default
    write_page(page, path)
    plain_console(stderr=True).print(
        f"wrote {path} (open {path.resolve().as_uri()} in a browser)", soft_wrap=True
    )


def _run_report(run: str | None, runs_dir: Path, curves: "CurveSource") -> tuple[str, Path]:
    """The page of `run` (None: the newest), and the run's folder."""
    from discovery.archive import Archive
    from discovery.ui.report.page import run_page

    if run is not None and not run.strip():
        raise UserError("an empty run id names no run")
    with Archive.open(runs_dir, run) as archive:
        return run_page(archive, curves), archive.run_dir


def _comparison(specs: list[str], runs_dir: Path, run: str | None, curves: "CurveSource") -> tuple[str, Path]:
    """The page comparing the two candidates `specs` name, and its default file name."""
    from discovery.resolve import resolve_candidate
    from discovery.ui.report.page import comparison_page

    first, second = (resolve_candidate(spec, runs_dir, run) for spec in specs)
    names = "-".join(
        re.sub(r"[^\w.-]+", "_", view.candidate.id).strip("_.") or "candidate" for view in (first, second)
    )
    return comparison_page(first, second, curves), Path(f"compare-{names}.html")
