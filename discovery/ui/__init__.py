"""Terminal views of runs and candidates: rich tables, plots, the live run display, the browser."""

from rich.console import Console


def plain_console(stderr: bool = False) -> Console:
    """A console that prints strings as they are: names, paths, reasons and LLM text come from users,
    files and servers, so `[red]` or `:smile:` in them is never read as rich markup or an emoji code
    (a stray `[/x]` would even raise). Styles come from `Text` objects and column styles instead."""
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False)
