"""Whether a process named by its pid still runs: for what a process leaves behind it (a run's lock
file, a sandbox's scratch folder) and that others must tell from what a killed process left."""

import os
from pathlib import Path


def process_start(pid: int) -> str | None:
    """Start time of `pid` in clock ticks since boot (Linux; None elsewhere or when it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_alive(pid: int, start: str | None = None) -> bool:
    """Whether process `pid` runs on this machine; given its `start` (see `process_start`), a
    recycled pid is not taken for it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    return start is None or process_start(pid) in (None, start)
