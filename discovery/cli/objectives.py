"""`discover objectives`: the shipped objectives and the figures the paper reported for them."""

import json

import typer

from discovery.cli import app
from discovery.objectives import shipped_catalog
from discovery.ui import plain_console
from discovery.ui.fitted import Column, FittedTable


@app.command("objectives")
def list_objectives(
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """List the shipped objectives (names usable wherever an OBJECTIVE is asked for)."""
    catalog = shipped_catalog()
    if as_json:
        typer.echo(json.dumps({"objectives": catalog}, indent=2))
        return
    columns = [
        Column("name", whole=True),
        Column("title"),
        Column("role", drop=1),
        Column("aliases", drop=2),
        Column("MT-Bench"),
        Column("AlpacaEval LC vs SFT"),
    ]
    table = FittedTable(columns, title="Shipped objectives (figures as reported in the DiscoPOP paper)")
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
