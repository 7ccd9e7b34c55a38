"""Reading the runs of a `discover run` that is still writing them, as a user's own script would.

A run is created under a hidden staging name and renamed into place (`Archive.create`), so a reader
looks only at run folders with visible names; and a read that meets the writer mid-commit or the
folder mid-rename is no answer yet, not a failure: the caller polls again. Once it is over, a
candidate's trainings are what a crash of the run must neither lose nor redo.
"""

import json
import sqlite3
from pathlib import Path

from discovery.records import CandidateRecord


def rows(runs_dir: Path, query: str) -> list[tuple]:
    """The rows `query` returns over every run in `runs_dir` that is in place (read-only); empty
    while a run is being created or the read met a commit."""
    found: list[tuple] = []
    for database in Path(runs_dir).glob("[!.]*/archive.sqlite"):
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
                found.extend(db.execute(query))
        except sqlite3.Error:
            return []
    return found


def trainings(candidate: CandidateRecord) -> str:
    """What a candidate's trainings gave, seed by seed: what a crash must neither lose nor redo."""
    return json.dumps([t.model_dump(mode="json") for t in candidate.figures.seeds])
