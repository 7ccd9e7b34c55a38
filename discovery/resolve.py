"""One meaning for OBJECTIVE on every command: a shipped name, a `.py` file, or an archived candidate.

Archived candidates are named `RUN/CANDIDATE` (id or name), or by id or name alone for the newest
run. Shipped names and files win over archived names, so `dpo` always means the shipped DPO.
"""

from pathlib import Path

from discovery.archive import ARCHIVE_FILE, Archive, default_runs_dir
from discovery.errors import UserError
from discovery.objectives import Objective, load_objective


def resolve_objective(spec: str, runs_dir: Path | None = None) -> Objective:
    """The objective `spec` names; a user error that lists the ways to name one otherwise."""
    try:
        return load_objective(spec)
    except UserError as not_shipped:
        if spec.endswith(".py"):
            raise  # a file was meant: say that it is missing, not that no run has it
        archived = _archived(spec, runs_dir or default_runs_dir())
        if archived is None:
            raise UserError(f"{not_shipped}, or RUN/CANDIDATE for an archived candidate") from None
        return archived


def _archived(spec: str, runs_dir: Path) -> Objective | None:
    run_id, _, key = spec.rpartition("/")
    if not run_id and not _has_runs(runs_dir):
        return None
    with Archive.open(runs_dir, run_id or None) as archive:
        candidate = archive.find_candidate(key)
        if candidate is None:
            return None
        return Objective(
            name=candidate.name, source=candidate.code, origin=f"archive:{candidate.run_id}/{candidate.id}"
        )


def _has_runs(runs_dir: Path) -> bool:
    return runs_dir.is_dir() and any((folder / ARCHIVE_FILE).is_file() for folder in runs_dir.iterdir())
