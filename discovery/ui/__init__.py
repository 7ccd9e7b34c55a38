"""Terminal views of runs and candidates: rich tables, plots, the live run display, the browser."""

from rich.console import Console, RenderableType
from rich.text import Text

from discovery.untrusted import has_unsafe, visible


def plain_console(stderr: bool = False) -> Console:
    """A console that prints strings as they are: names, paths, reasons and LLM text come from users,
    files and servers, so `[red]` or `:smile:` in them is never read as rich markup or an emoji code
    (a stray `[/x]` would even raise). Styles come from `Text` objects and column styles instead."""
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False)


def shown(cell: RenderableType) -> RenderableType:
    """A table cell with its control characters made visible (`discovery.untrusted.visible`): a
    string, or a `Text` with its styles kept; other renderables build their text from shown strings.

    Made when the cell is, before any layout: an escape is wider than the character it stands for,
    and rich measures a control character as no width at all."""
    if isinstance(cell, str):
        return visible(cell)
    if isinstance(cell, Text) and has_unsafe(cell.plain):
        return _visible_text(cell)
    return cell


def _visible_text(text: Text) -> Text:
    """`text` with `visible` applied piece by piece between its style boundaries, each piece keeping
    its styles."""
    cuts = sorted({span.start for span in text.spans} | {span.end for span in text.spans})
    result = text.blank_copy()
    for piece in text.divide(cuts):
        start = len(result)
        result.append(visible(piece.plain))
        for span in piece.spans:
            result.stylize(span.style, start, len(result))
    return result
