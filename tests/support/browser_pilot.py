"""`discover browse` under Textual's headless pilot: driving the app and reading what it shows."""

import asyncio
import io
from collections.abc import Awaitable, Callable

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from discovery.ui.browser import Browser


def drive(app: Browser, steps: Callable[[Pilot], Awaitable[None]], size: tuple[int, int] = (180, 60)) -> None:
    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await steps(pilot)

    asyncio.run(run())


def table_names(app: Browser) -> list[str]:
    table = app.query_one("#candidates", DataTable)
    return [str(table.get_row_at(row)[2]) for row in range(table.row_count)]


def detail_text(app: Browser) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(app.query_one("#detail-body", Static).content)
    return console.export_text()


def screen_text(app: Browser) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
