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

from discovery.ui import shown


@dataclass(frozen=True)
class Column:
    """A column of a `FittedTable`: `whole` ones are never wrapped or cut; `drop` > 0 marks a column
    shown only when the width allows, the lowest `drop` first (0: it always stays, wrapping)."""

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
        """A row; names, reasons and the like in its cells come from outside: they are `shown`."""
        self.rows.append((tuple(shown(cell) for cell in cells), style))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.fit(console, options)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.fit(console, options))

    def fit(self, console: Console, options: ConsoleOptions) -> Table:
        """The table for `options.max_width`: the columns that always stay, then each droppable one,
        most useful (lowest `drop`) first, while the table still fits with the staying columns on one
        line; whole columns are never wrapped, and fold (still complete) only when even the staying
        columns cannot fit with their longest words on a line."""
        width = options.max_width
        shown = [column for column in self.columns if column.drop == 0]
        for extra in sorted((c for c in self.columns if c.drop > 0), key=lambda c: c.drop):
            trial = [column for column in self.columns if column in shown or column is extra]
            if self._width(trial, console, options, roomy=True) <= width:
                shown = trial
        if self._width(shown, console, options, roomy=False) > width:
            shown = [replace(column, whole=False) for column in shown]
        table = Table(title=self.title, **self.table_options)  # type: ignore[arg-type]
        for column in shown:
            longest = self._measure(column, console, options).maximum if column.whole else None
            table.add_column(
                column.header,
                justify=column.justify,
                no_wrap=column.whole,
                min_width=longest,
                overflow="fold",
            )
        indices = [self._index(column) for column in shown]
        for cells, style in self.rows:
            table.add_row(*(cells[index] for index in indices), style=style)
        return table

    def _width(self, shown: list[Column], console: Console, options: ConsoleOptions, roomy: bool) -> int:
        """The table's width with these columns: whole ones on one line, the others with their
        longest word on a line (`roomy`: the columns that always stay on one line too), plus
        padding (a space each side) and borders."""
        content = 0
        for column in shown:
            measured = self._measure(column, console, options)
            one_line = column.whole or (roomy and column.drop == 0)
            content += measured.maximum if one_line else measured.minimum
        return content + 3 * len(shown) + 1

    def _index(self, column: Column) -> int:
        """Where a column's cells are in the rows (headers name columns: a folded column is a copy)."""
        return next(i for i, c in enumerate(self.columns) if c.header == column.header)

    def _measure(self, column: Column, console: Console, options: ConsoleOptions) -> Measurement:
        """The column's longest word (minimum) and longest line (maximum), its header included."""
        wide = options.update_width(10_000)
        cells: Iterable[RenderableType] = [column.header, *(row[self._index(column)] for row, _ in self.rows)]
        measured = [Measurement.get(console, wide, cell) for cell in cells]
        return Measurement(max(m.minimum for m in measured), max(m.maximum for m in measured))
