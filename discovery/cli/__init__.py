"""The `discover` command. Each sub-command lives in its own module of this package and registers
itself with `app`; modules import heavy libraries (torch, trl) inside their functions so that
`discover --help` stays instant.

Every failure that is nobody's bug ends the same way, whichever command met it and however it is
run (the console script, `python -m discovery.cli`, typer's `CliRunner` in tests): one plain line
on stderr, exit code 2 for a user's mistake (a `UserError` or a usage error the option parser found)
and 1 for a service that stays down. A traceback is left for bugs only.
"""

import importlib
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any

import typer
from rich.text import Text
from typer.core import TyperGroup

from discovery import __version__
from discovery.errors import ServiceUnavailable, UserError
from discovery.ui import plain_console

error_console = plain_console(stderr=True)


def print_error(label: str, message: str) -> None:
    """`label: message` on stderr as one line of plain text: the message is never read as rich markup
    (`[red]` in a file name stays as typed), and newlines, tabs and control characters in it (a
    server's message, a YAML error) are flattened or escaped so that it stays one line."""
    flat = " ".join(message.split())
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in flat)
    error_console.print(Text.assemble((f"{label}:", "red"), " ", shown), soft_wrap=True)


class _Commands(TyperGroup):
    """The command group, with the one way a run of `discover` that is nobody's bug ends."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        words = sys.argv[1:] if args is None else list(args)
        undecodable = next((word for word in words if not _is_utf8(word)), None)
        if undecodable is not None:  # names, ids, keys and paths travel as UTF-8 (SQLite, JSON, YAML)
            print_error("error", f"the argument '{undecodable}' is not UTF-8 text")
            sys.exit(2)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.TyperException as error:  # the option parser's complaints (usage errors)
            context = getattr(error, "ctx", None)
            hint = f" (see `{context.command_path} --help`)" if context is not None else ""
            print_error("error", f"{error.format_message()}{hint}")
            sys.exit(error.exit_code)
        except UserError as error:
            print_error("error", str(error))
            sys.exit(2)
        except ServiceUnavailable as error:  # an endpoint (LLM or judge) that stays down
            print_error("error", str(error))
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _is_utf8(word: str) -> bool:
    """Whether a command-line word was valid UTF-8 (Python keeps other bytes as lone surrogates)."""
    try:
        word.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


app = typer.Typer(
    name="discover",
    cls=_Commands,
    help="Discover preference-optimization objectives with an LLM, then train real models with the winners.",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
)


def load_commands() -> None:
    """Register every command with `app`: each module of this package adds its own."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"discover {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    context: typer.Context,
    _version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
    ),
) -> None:
    """Discover preference-optimization objectives with an LLM, then train real models with the winners."""
    if context.invoked_subcommand is None:  # `discover` alone: the help, as for a usage error
        shown = context.get_help()  # typer's rich help prints itself and returns ""
        if shown:
            typer.echo(shown)
        raise typer.Exit(2)


def main() -> None:
    """Console-script entry point (`discover`)."""
    load_commands()
    app()
