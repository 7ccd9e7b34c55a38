"""Where runs and caches live: one runs folder, and one cache root beside (or instead of) it.

Every command that reads or writes runs takes `--runs-dir` (or `$DISCOVER_RUNS_DIR`); everything
that is cached (built tasks, seed scores, judgments, data subsets, trained candidates) lives under
one root, `$DISCOVER_CACHE` when set, else `<runs dir>/cache`, so that a runs folder moved to another
disk keeps its caches.
"""

import os
from pathlib import Path

from discovery.errors import UserError

RUNS_DIR_ENV = "DISCOVER_RUNS_DIR"
CACHE_ENV = "DISCOVER_CACHE"
DEFAULT_RUNS_DIR = Path("runs")


def default_runs_dir() -> Path:
    """`$DISCOVER_RUNS_DIR`, else `runs/` in the working directory (for callers without a `--runs-dir`)."""
    return Path(os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR)


def cache_root(runs_dir: Path) -> Path:
    """`$DISCOVER_CACHE`, else the `cache` folder of the runs folder; a file there is a user error
    (found before anything is built into it)."""
    root = Path(os.environ.get(CACHE_ENV) or Path(runs_dir) / "cache")
    if os.path.exists(root) and not os.path.isdir(root):
        raise UserError(f"{root} is not a folder, so it cannot hold the cache (set {CACHE_ENV} to a folder)")
    return root


def huggingface_home() -> Path:
    """Where the hub's model cache lives (`$HF_HOME`, else ~/.cache/huggingface): confined training
    jobs read it."""
    from huggingface_hub import constants

    return Path(constants.HF_HOME)
