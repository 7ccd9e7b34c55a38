"""`discover validate`: run candidate objectives through the sandbox and print the verdicts."""

import json

import typer

from discovery.cli import app


@app.command("validate")
def validate(
    files: list[str] = typer.Argument(
        ..., help="Objective .py files (or shipped objective names) to validate."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout instead of a table."),
    timeout_s: float = typer.Option(
        5.0, "--timeout", min=0.5, max=3600, help="Wall-clock limit per candidate, seconds."
    ),
    memory_mb: int = typer.Option(
        1024, "--memory-mb", min=64, max=1_048_576, help="Memory limit per candidate, MB."
    ),
) -> None:
    """Check objectives statically, run them in a locked-down process, and test that they behave like a
    usable preference loss. Exit code 0 when all are valid, 1 when any is rejected, 2 for a usage error."""
    from discovery.objectives import load_objective
    from discovery.sandbox import Validator

    objectives = [(spec, load_objective(spec)) for spec in files]  # a missing file fails before any work
    with Validator(timeout_s=timeout_s, memory_mb=memory_mb) as validator:
        results = [
            {"file": spec, **validator.validate(o.source).model_dump(exclude={"behaviour"})}
            for spec, o in objectives
        ]
    if as_json:
        typer.echo(json.dumps({"results": results}, indent=2))
    else:
        _print_table(results)
    if not all(result["ok"] for result in results):
        raise typer.Exit(1)


def _print_table(results: list[dict]) -> None:
    from rich.table import Table
    from rich.text import Text

    from discovery.ui import plain_console

    table = Table(title="Sandbox verdicts")
    for column in ("file", "verdict", "stage", "reason", "ms"):
        table.add_column(column, overflow="fold")
    for result in results:
        verdict = Text("valid", style="green") if result["ok"] else Text("rejected", style="red")
        table.add_row(
            result["file"],
            verdict,
            result["stage"] or "",
            result["reason"] or "",
            f"{result['seconds'] * 1000:.0f}",
        )
    plain_console().print(table)
