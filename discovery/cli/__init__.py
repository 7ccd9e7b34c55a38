"""The `discover` command. Each sub-command lives in its own module of this package and registers
itself with `app`; modules import heavy libraries (torch, trl) inside their functions so that
`discover --help` stays instant."""

import importlib
import pkgutil
import sys

import typer
from rich.console import Console

from discovery import __version__
from discovery.errors import ServiceUnavailable, UserError

app = typer.Typer(
    name="discover",
    help="Discover preference-optimization objectives with an LLM, then train real models with the winners.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
)
error_console = Console(stderr=True)


def _load_commands() -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"discover {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    _version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
    ),
) -> None:
    """Discover preference-optimization objectives with an LLM, then train real models with the winners."""


def main() -> None:
    """Console-script entry point: user mistakes become one red line and exit code 2."""
    _load_commands()
    try:
        app()
    except UserError as error:
        error_console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except ServiceUnavailable as error:  # an endpoint (LLM or judge) that stays down: say so, no traceback
        error_console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(1)
