"""Files a user names on the command line (objectives, run configs, recipes, exports), read and
checked one way.

Only regular files are read or overwritten: a folder has no text, a FIFO would block until someone
opens its other end, and `/dev/zero` never ends. A file larger than `MAX_BYTES` is refused before it
is read (no objective, config or recipe is anywhere near that size), and text that is not UTF-8 is
refused. Each of these is one `UserError` line naming the file, never a traceback.
"""

import errno
import os
import stat
from pathlib import Path

from discovery.errors import UserError

MAX_BYTES = 1_000_000


def existing_mode(path: Path, what: str) -> int | None:
    """The `stat` mode of what is at `path` (None: nothing); a path the system cannot look up (a
    name too long, a folder in it that is a file, a NUL byte) is a `UserError` naming it as `what`."""
    try:
        return path.stat().st_mode
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise UserError(f"cannot use {what} {path}: {_reason(error)}") from error


def read_text_file(path: Path, what: str) -> str:
    """The UTF-8 text of the regular file `path`; `what` names it in errors ("objective file")."""
    mode = existing_mode(path, what)
    if mode is None:
        raise UserError(f"cannot read {what} {path}: {os.strerror(errno.ENOENT)}")
    if stat.S_ISDIR(mode):
        raise UserError(f"cannot read {what} {path}: it is a folder")
    if not stat.S_ISREG(mode):
        raise UserError(f"cannot read {what} {path}: it is not a regular file")
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as error:
        raise UserError(f"cannot read {what} {path}: {_reason(error)}") from error
    if len(data) > MAX_BYTES:
        raise UserError(f"cannot read {what} {path}: it is larger than {MAX_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"cannot read {what} {path}: it is not UTF-8 text ({error.reason})") from error


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.errno is not None:
        return os.strerror(error.errno)
    return str(error)
