"""`discover objectives`: the shipped objectives and the figures the paper reported for them."""

import json

import typer

from discovery.cli import app
from discovery.objectives import shipped_catalog
from discovery.objectives.objective import DEFAULT_SEED_ROLES, ROLES
from discovery.ui import plain_console
from discovery.ui.fitted import Column, FittedTable


@app.command("objectives")
def list_objectives(
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """List the shipped objectives (names usable wherever an OBJECTIVE is asked for), with their role:
    the DiscoPOP paper's seeds and discoveries, which seed a run by default, and TRL's loss types."""
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
    roles = "; ".join(f"{role}: {meaning}" for role, meaning in ROLES.items())
    seeded = " and ".join(DEFAULT_SEED_ROLES)
    caption = f"{roles}. A run is seeded with the {seeded} ones unless --seed-objectives names others."
    table = FittedTable(
        columns, title="Shipped objectives (figures as reported in the DiscoPOP paper)", caption=caption
    )
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
