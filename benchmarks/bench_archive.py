"""How fast a large archive opens: list_runs, the leaderboard, every candidate, the browser's first paint.

Target (issue 5): an archive with hundreds of candidates opens in under a second. Run from the
repository root: `python benchmarks/bench_archive.py [--candidates 500]`. Import time (torch comes
in with the records) is printed apart: it is paid once per process, whatever the archive's size.
"""

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
T = TypeVar("T")


def timed(label: str, action: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = action()
    print(f"{label:<42} {time.perf_counter() - start:8.3f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=500, help="proposals in the run (plus 11 seeds)")
    args = parser.parse_args()

    start = time.perf_counter()
    from textual.app import App

    from discovery.archive import Archive, list_runs
    from discovery.ui.browser import Browser
    from tests.support.archive_factory import build_run

    print(f"{'imports (torch, textual; once per process)':<42} {time.perf_counter() - start:8.3f} s")
    with tempfile.TemporaryDirectory() as folder:
        runs_dir = Path(folder)
        timed(
            f"build a run with {args.candidates} proposals",
            lambda: build_run(runs_dir, "big", args.candidates),
        )
        timed("list_runs", lambda: list_runs(runs_dir))
        with Archive.open(runs_dir) as archive:
            board = timed("open + leaderboard()", archive.leaderboard)
            every = timed("candidates() (all, parsed)", archive.candidates)
        print(f"  {len(board)} scored of {len(every)} candidates")

        async def first_paint(app: App) -> None:
            async with app.run_test(size=(180, 50)) as pilot:
                await pilot.pause()

        timed("baseline: an empty Textual app, same steps", lambda: asyncio.run(first_paint(App())))
        timed("browser: open, first paint, quit", lambda: asyncio.run(first_paint(Browser(runs_dir))))


if __name__ == "__main__":
    main()
