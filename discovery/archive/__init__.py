"""The run archive: one SQLite database per run folder, pydantic records in and out.

`tables` specifies each table once (its record, derived columns, keys, indexes) and derives the
SQL, the values written and the records read from it; `migrations` brings older archives up to
date; `lock` is the one-writer rule; `store` the `Archive` itself and where runs are; `ranking` which
candidate is a run's best; `listing` the runs of a runs folder; `doc` writes docs/archive-schema.md.
"""

from discovery.archive.errors import ArchiveError
from discovery.archive.listing import RunSummary, list_runs, summarize
from discovery.archive.lock import LOCK_FILE, RunBusy, RunLock, RunWriter
from discovery.archive.migrations import SCHEMA_VERSION
from discovery.archive.ranking import RANKED, run_best
from discovery.archive.store import ARCHIVE_FILE, Archive, find_run

__all__ = [
    "ARCHIVE_FILE",
    "LOCK_FILE",
    "RANKED",
    "SCHEMA_VERSION",
    "Archive",
    "ArchiveError",
    "RunBusy",
    "RunLock",
    "RunSummary",
    "RunWriter",
    "find_run",
    "list_runs",
    "run_best",
    "summarize",
]
