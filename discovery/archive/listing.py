"""`discover runs`: every run under a runs folder, one line each, without loading its candidates."""

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from discovery.archive.errors import ArchiveError
from discovery.archive.store import ARCHIVE_FILE, Archive, run_folders
from discovery.records import RunStatus


class RunSummary(BaseModel):
    """One line of `discover runs`: what a run is and how far it got, without loading its candidates."""

    id: str
    path: Path
    started: datetime | None = None
    ended: datetime | None = None
    evaluator: str | None = None
    proposer: str | None = None
    generations_done: int = 0
    counts: dict[str, int] = {}  # candidate status -> number of candidates
    best_name: str | None = None
    best_fitness: float | None = None
    status: RunStatus | None = None  # None when the archive could not be read (see `error`)
    error: str | None = None

    @property
    def candidates(self) -> int:
        return sum(self.counts.values())


def summarize(archive: Archive) -> RunSummary:
    """The `discover runs` line for one open archive."""
    run = archive.run()
    best = archive.best()
    return RunSummary(
        id=run.id,
        path=archive.run_dir,
        started=run.started,
        ended=run.ended,
        evaluator=run.evaluator,
        proposer=run.proposer,
        generations_done=run.generations_done,
        counts=archive.counts(),
        best_name=best.name if best else None,
        best_fitness=best.fitness if best else None,
        status=archive.status(),
    )


def list_runs(runs_dir: Path) -> list[RunSummary]:
    """Every run under `runs_dir`, newest first; an unreadable archive is listed with its `error`."""
    summaries = []
    for folder in run_folders(Path(runs_dir)):
        try:
            with Archive(folder / ARCHIVE_FILE) as archive:
                summaries.append(summarize(archive))
        except ArchiveError as error:
            summaries.append(RunSummary(id=folder.name, path=folder, error=str(error)))
    return sorted(summaries, key=lambda s: s.started.isoformat() if s.started else "", reverse=True)
