"""`discover runs`, `archive`, `show` and `export`: read what runs have written, from the terminal.

Heavy imports (the archive pulls in torch through the records) happen inside the commands so
that `discover --help` stays instant.
"""

import json
import re
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from discovery.cli import app
from discovery.cli.common import RUNS_DIR, run_id
from discovery.errors import UserError
from discovery.ui import plain_console
from discovery.untrusted import visible
from discovery.user_files import existing_mode

if TYPE_CHECKING:
    from discovery.records import CandidateRecord
    from discovery.sandbox import Validator
    from discovery.training.trl_losses import TrlMatch

STATUSES = ("scored", "all", "invalid", "duplicate", "failed", "validated", "proposed")


@app.command("runs")
def runs(
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    runs_dir: Path = RUNS_DIR,
) -> None:
    """List every run: evaluator, proposer, candidates per status, best objective, and status.

    A run whose process died while running is shown as interrupted; resume it with `discover run --resume`.
    """
    from discovery.archive import list_runs
    from discovery.ui.views import runs_table

    summaries = list_runs(runs_dir)
    if as_json:
        typer.echo(json.dumps({"runs": [s.model_dump(mode="json") for s in summaries]}, indent=2))
    elif not summaries:
        plain_console().print(f"no runs yet in {runs_dir} (start one with `discover run`)")
    else:
        plain_console().print(runs_table(summaries))


@app.command("archive")
def archive(
    run: str = typer.Argument(
        None, callback=run_id, help="Run id or a unique prefix of it (default: the newest run)."
    ),
    top: int = typer.Option(None, "--top", help="Show only the first N rows."),
    status: str = typer.Option(
        "scored", "--status", help=f"Which candidates: {', '.join(STATUSES)} (scored = the leaderboard)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    runs_dir: Path = RUNS_DIR,
) -> None:
    """The leaderboard of one run, best first (the newest run by default).

    Ranked by the lower end of each candidate's fitness interval (a lucky seed ranks nothing).
    Columns: rank, id, name, generation, fitness [interval] at the best beta, seeds (n) and beta behind
    it, the difference with the baseline (DPO) at comparable KL and its p-value, the held-out verdict
    (confirmed or not on variants the search never saw, Holm-corrected p), reward, KL, status,
    parents. Seeds are marked;
    the figures the paper reported for them are shown in a table of their own, never mixed with measured ones.
    Under the table, the run's result in one line: what its held-out confirmation confirmed.
    """
    from discovery.archive import Archive, summarize
    from discovery.transfer import run_result
    from discovery.ui.figures import confirmation_of
    from discovery.ui.views import leaderboard_table, reported_table

    if status not in STATUSES:
        raise UserError(f"unknown status '{status}': use one of {', '.join(STATUSES)}")
    if top is not None and top < 1:
        raise UserError(f"--top must be at least 1, got {top}")
    with Archive.open(runs_dir, run) as store:
        summary = summarize(store)
        if not summary.candidates:
            raise UserError(f"run {summary.id} has no candidates yet")
        board = store.leaderboard()
        rows = [(rank, c) for rank, c in enumerate(board, start=1)]
        if status == "all":
            rows += [(None, c) for c in store.candidates() if c.id not in {b.id for b in board}]
        elif status != "scored":
            rows = [(None, c) for c in store.candidates(status=status)]
        rows = rows[:top]
        prompt_tokens, completion_tokens = store.tokens_spent()
        confirmation = confirmation_of(store.candidates(), store.transfers())
    verdicts = confirmation.confirmations() if confirmation else {}
    result = run_result(confirmation)
    if as_json:
        document = {
            "run": summary.model_dump(mode="json"),
            "tokens": {"prompt": prompt_tokens, "completion": completion_tokens},
            "result": result,
            "confirmed": [id for id, verdict in verdicts.items() if verdict.confirmed],
            "candidates": [
                {
                    "rank": rank,
                    "fitness": c.fitness,
                    "held_out": verdicts[c.id].verdict if c.id in verdicts else None,
                    **c.model_dump(mode="json"),
                }
                for rank, c in rows
            ],
        }
        typer.echo(json.dumps(document, indent=2))
        return
    console = plain_console()
    console.print(
        Text.assemble(
            "run ",
            (visible(summary.id), "bold"),
            visible(
                f" · {summary.evaluator} · proposer {summary.proposer} · {summary.status.value} · "
                f"{summary.generations_done} generations · {prompt_tokens} + {completion_tokens} LLM tokens"
            ),
        )
    )
    if not rows:
        console.print(visible(f"no {status} candidates in run {summary.id}"))
        return
    title = "Leaderboard (measured)" if status == "scored" else f"Candidates: {status}"
    console.print(leaderboard_table(rows, title, verdicts))
    console.print(f"Result: {result}", markup=False, highlight=False)
    reported = reported_table([c for _, c in rows if c.is_seed])
    if reported is not None:
        console.print(reported)


@app.command("show")
def show(
    candidate: str = typer.Argument(
        ..., help="Candidate id or name in the run, RUN/ID, or a shipped objective name (dpo, discopop, ...)."
    ),
    run: str = typer.Option(None, "--run", callback=run_id, help="Run to look in (default: the newest run)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    runs_dir: Path = RUNS_DIR,
) -> None:
    """Everything about one candidate: thought, code, figures, verdict, lineage, LLM exchange, loss plot,
    and the TRL loss_type it equals, if any.

    The plot draws the loss and its gradient against the margin rho over [-10/beta, +10/beta], next to
    DPO's. A shipped objective is shown with the figures the paper reported for it. The TRL line
    compares losses and gradients, computed in the sandbox, with those of TRL's built-in loss types.
    """
    from discovery.resolve import resolve_candidate
    from discovery.ui.curves import CurveSource
    from discovery.ui.views import candidate_detail, curves_panel

    view = resolve_candidate(candidate, runs_dir, run)
    with CurveSource() as curves:
        found, trl_line = _trl_equivalence(view.candidate, curves.validator)
        if as_json:
            document = {**view.to_json(), "trl": found.model_dump() if found else None}
            typer.echo(json.dumps(document, indent=2))
            return
        console = plain_console()
        console.print(candidate_detail(view, curves_panel(view, curves, min(console.width, 120))))
    if trl_line:
        console.print(Text(visible(f"TRL: {trl_line}")))  # a sandbox error may quote the code


def _trl_equivalence(candidate: "CandidateRecord", validator: "Validator") -> tuple["TrlMatch | None", str]:
    """The TRL built-in loss the candidate equals (if any) and the sentence `show` prints about it;
    code the sandbox rejected is never run, so it is not compared ("")."""
    from discovery.records import CandidateStatus
    from discovery.sandbox import FiguresUnavailable
    from discovery.training.trl_losses import load_table, match

    if candidate.status is CandidateStatus.INVALID:
        return None, ""
    table = load_table()
    try:
        found = match(validator.comparison(candidate.code), table)
    except FiguresUnavailable as error:
        return None, f"not compared: {error}"
    if found is None:
        compared = f"{len(table.losses)} DPOConfig settings compared"
        return None, f"none of TRL {table.trl_version}'s built-in losses ({compared}; {table.checked_on()})"
    return found, f"{found.sentence()} ({table.checked_on()})"


@app.command("export")
def export(
    candidate: str = typer.Argument(..., help="Same identifiers as `discover show`, shipped names included."),
    output: Path = typer.Option(None, "-o", "--output", help="File to write (default: NAME.py; - = stdout)."),
    run: str = typer.Option(None, "--run", callback=run_id, help="Run to look in (default: the newest run)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    runs_dir: Path = RUNS_DIR,
) -> None:
    """Write a candidate's code as an objective file for `discover evaluate` and `discover retrain`.

    Its control characters and bidi controls are written as escapes (the archive keeps them): the
    file is read by a person before it is trained, and a lone surrogate cannot be written at all."""
    from discovery.objectives.gate import check_source
    from discovery.resolve import resolve_candidate

    view = resolve_candidate(candidate, runs_dir, run)
    found = view.candidate
    origin = f"run {view.run.id}, candidate {found.id}" if view.run else "the shipped objectives"
    figures = found.figures
    fitness = f", fitness {found.fitness:.4f}" if found.fitness is not None else ""
    best = figures.best_beta if figures is not None and not found.is_seed else None
    beta = (
        f"\n# It did best at beta {best:g} in its search (a larger model may want another beta)."
        if best is not None
        else ""
    )
    text = visible(f"# Exported by discover from {origin}{fitness}.{beta}\n{found.code.rstrip()}\n")
    if str(output) == "-":
        sys.stdout.write(text)
        return
    path = output or Path((re.sub(r"\W+", "_", found.name).strip("_") or "objective") + ".py")
    mode = existing_mode(path, "output file")
    if mode is not None and not force:
        raise UserError(f"{path} exists: choose another -o FILE or add --force")
    if mode is not None and not stat.S_ISREG(mode):  # a FIFO would block, a folder cannot be written
        raise UserError(f"cannot write {path}: it is not a regular file")
    try:
        path.write_text(text)
    except OSError as error:
        raise UserError(f"cannot write {path}: {error}") from error
    console = plain_console(stderr=True)
    console.print(f"wrote {path} (use it with `discover evaluate {path}`)")
    if check_source(found.code):
        console.print(
            Text.assemble(
                ("note:", "yellow"), " it fails the static gate: `discover evaluate` will refuse it"
            )
        )
