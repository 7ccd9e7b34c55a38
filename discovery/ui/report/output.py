"""Writing a report page: atomically, and never over a file that is not a report.

A report is regenerated often (after more generations, from the browser), so an earlier report at
the same path is replaced without asking; anything else there (a user's file, a folder, a FIFO) is
refused, so a mistyped `-o` cannot destroy work.
"""

import os
import stat
import tempfile
import webbrowser
from pathlib import Path

from discovery.errors import UserError
from discovery.ui.report.page import GENERATOR
from discovery.user_files import existing_mode

REPORT_FILE = "report.html"  # in the run's folder, where `discover report RUN` writes by default
MARK = f'<meta name="generator" content="{GENERATOR}">'.encode()
HEAD_BYTES = 1024  # the mark is in the page's head, well within this


def is_report(path: Path) -> bool:
    """Whether the regular file at `path` is a page discover wrote."""
    try:
        with path.open("rb") as file:
            return MARK in file.read(HEAD_BYTES)
    except OSError:
        return False


def write_page(page: str, path: Path) -> None:
    """Write `page` to `path` (a temporary file in the same folder, then renamed over it)."""
    mode = existing_mode(path, "report file")
    if mode is not None and stat.S_ISDIR(mode):
        raise UserError(f"cannot write the report to {path}: it is a folder")
    if mode is not None and not stat.S_ISREG(mode):
        raise UserError(f"cannot write the report to {path}: it is not a regular file")
    if mode is not None and not is_report(path):
        raise UserError(f"{path} exists and is not a report discover wrote: choose another -o FILE")
    folder = path.parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise UserError(f"cannot write the report in {folder}: {error.strerror or error}") from error
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(page)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise UserError(f"cannot write the report to {path}: {error.strerror or error}") from error


def open_in_browser(url: str) -> bool:
    """Open `url` in a graphical web browser when one is available (on the desktop, not over SSH);
    never in a console browser, which would take over the terminal and wait until it quits."""
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    waits = isinstance(browser, webbrowser.GenericBrowser) and not isinstance(
        browser, webbrowser.BackgroundBrowser
    )
    if waits or getattr(browser, "background", True) is False:  # lynx, w3m, elinks...
        return False
    try:
        return bool(browser.open(url))
    except OSError:
        return False
