"""`discover objectives`: the shipped objectives and the figures the paper reported for them."""

import json

import typer
from rich.table import Table

from discovery.cli import app
from discovery.objectives import shipped_catalog
from discovery.ui import plain_console


@app.command("objectives")
def list_objectives(
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """List the shipped objectives (names usable wherever an OBJECTIVE is asked for)."""
    catalog = shipped_catalog()
    if as_json:
        typer.echo(json.dumps({"objectives": catalog}, indent=2))
        return
    table = Table(title="Shipped objectives (figures as reported in the DiscoPOP paper)")
    for column in ("name", "title", "role", "aliases", "MT-Bench", "AlpacaEval LC vs SFT"):
        table.add_column(column)
    for name, entry in catalog.items():
        reported = entry["reported"]
        table.add_row(
            name,
            entry["title"],
            entry["role"],
            ", ".join(entry["aliases"]),
            str(reported.get("mt_bench", "")),
            str(reported.get("alpaca_lc_vs_sft", "")),
        )
    plain_console().print(table)
