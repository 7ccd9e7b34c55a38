"""Where runs and caches live: one runs folder, and one cache root beside (or instead of) it.

Every command takes `--runs-dir` (or `$DISCOVER_RUNS_DIR`); everything that is cached (built tasks,
seed scores, judgments, data subsets) lives under one root, `$DISCOVER_CACHE` when set, else
`<runs dir>/cache`, so that a runs folder moved to another disk keeps its caches.
"""

import os
from pathlib import Path

RUNS_DIR_ENV = "DISCOVER_RUNS_DIR"
CACHE_ENV = "DISCOVER_CACHE"


def default_runs_dir() -> Path:
    """`$DISCOVER_RUNS_DIR`, else `runs/` in the working directory."""
    return Path(os.environ.get(RUNS_DIR_ENV) or "runs")


def cache_root(runs_dir: Path | None = None) -> Path:
    """`$DISCOVER_CACHE`, else the `cache` folder of the runs folder."""
    return Path(os.environ.get(CACHE_ENV) or (runs_dir or default_runs_dir()) / "cache")
