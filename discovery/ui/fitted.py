"""Tables that fit the terminal without cutting what a user copies.

Rich shrinks every column of a table that is too wide, ids and names too (`202611…`, `seed-s…`),
and those are exactly what a user copies into the next command. A `FittedTable` is laid out when it
is printed, for the width it gets: `whole` columns (ids, names) are printed whole on one line; the
other columns wrap, and the ones marked droppable disappear, least useful first, until the table
fits. Only a terminal too narrow for the whole columns alone folds them (still complete, never `…`).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from rich.console import Console, ConsoleOptions, JustifyMethod, RenderableType, RenderResult
from rich.measure import Measurement
from rich.style import StyleType
from rich.table import Table


@dataclass(frozen=True)
class Column:
    """A column of a `FittedTable`: `whole` ones are never wrapped or cut; `drop` > 0 marks a column
    that goes when the width is short, the highest `drop` first (0: it stays and wraps instead)."""

    header: str
    justify: JustifyMethod = "left"
    whole: bool = False
    drop: int = 0


class FittedTable:
    """A rich table whose columns are chosen, and whose ids and names are kept whole, at print time."""

    def __init__(self, columns: Sequence[Column], title: str | None = None, **table_options: object) -> None:
        self.columns = list(columns)
        self.title = title
        self.table_options = table_options
        self.rows: list[tuple[Sequence[RenderableType], StyleType | None]] = []

    def add_row(self, *cells: RenderableType, style: StyleType | None = None) -> None:
        self.rows.append((cells, style))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.fit(console, options)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.fit(console, options))

    def fit(self, console: Console, options: ConsoleOptions) -> Table:
        """The table for `options.max_width`: every droppable column that must go for the whole
        columns to fit (and the others to keep their longest word on a line), gone."""
        shown = list(self.columns)
        droppable = sorted((c for c in self.columns if c.drop > 0), key=lambda c: c.drop, reverse=True)
        for column in droppable:
            if self._narrowest(shown, console, options) <= options.max_width:
                break
            shown.remove(column)
        if self._narrowest(shown, console, options) > options.max_width:
            shown = [replace(column, whole=False) for column in shown]  # whole, but over several lines
        table = Table(title=self.title, **self.table_options)  # type: ignore[arg-type]
        for column in shown:
            width = self._widths(column, console, options)[1] if column.whole else None
            table.add_column(
                column.header, justify=column.justify, no_wrap=column.whole, min_width=width, overflow="fold"
            )
        indices = [self._index(column) for column in shown]
        for cells, style in self.rows:
            table.add_row(*(cells[index] for index in indices), style=style)
        return table

    def _narrowest(self, shown: list[Column], console: Console, options: ConsoleOptions) -> int:
        """The narrowest the table can be printed with these columns: whole columns whole, the others
        with their longest word on a line, plus padding (one space each side) and borders."""
        content = sum(self._widths(c, console, options)[1 if c.whole else 0] for c in shown)
        return content + 2 * len(shown) + len(shown) + 1

    def _index(self, column: Column) -> int:
        """Where a column's cells are in the rows (headers name columns: a folded column is a copy)."""
        return next(i for i, c in enumerate(self.columns) if c.header == column.header)

    def _widths(self, column: Column, console: Console, options: ConsoleOptions) -> tuple[int, int]:
        """The column's longest word and longest line, its header included."""
        wide = options.update_width(10_000)
        cells: Iterable[RenderableType] = [column.header, *(row[self._index(column)] for row, _ in self.rows)]
        measured = [Measurement.get(console, wide, cell) for cell in cells]
        return max(m.minimum for m in measured), max(m.maximum for m in measured)
