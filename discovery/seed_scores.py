"""Scores of the shipped seed objectives, shared by every run with the same evaluator configuration.

Seeding a run means training eleven objectives at every beta, several seeds each; a second run on
the same task would get the same figures, so each training is stored once per (evaluator
configuration, code hash, seed, beta) and reused, whichever seeds a run's racing asks for.

It is only a cache: every score is in its run's archive first. Whatever goes wrong with the cache
file (read-only media, a full disk, a damaged or foreign file) is one warning, and the run goes on
without it: seeds are then scored again. A file that is not a database is replaced by a new one.
"""

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from discovery.records import SeedResult, TrainingPoint


def evaluator_key(name: str, version: int, config: dict[str, Any]) -> str:
    """Identity of everything besides seed and beta that decides a training's figures."""
    blob = json.dumps({"evaluator": name, "version": version, "config": config}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class SeedScoreCache:
    """A small SQLite table of (evaluator key, code hash, seed, beta) -> training figures; `warn` is
    told, in one line, when the cache cannot be used (it is then bypassed for the rest of the run)."""

    def __init__(self, path: Path, key: str, warn: Callable[[str], None]) -> None:
        self.path = Path(path)
        self.key = key
        self._warn = warn
        self._db: sqlite3.Connection | None = None
        try:
            self._db = self._open()
        except (OSError, sqlite3.Error) as error:
            self._bypass(error)

    def lookup(self, code_hash: str, point: TrainingPoint) -> SeedResult | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT result FROM trainings WHERE evaluator_key = ? AND code_hash = ? AND seed = ?"
                " AND beta = ?",
                (self.key, code_hash, point.seed, repr(point.beta)),
            ).fetchone()
            return SeedResult.model_validate_json(row[0]) if row else None
        except (sqlite3.Error, ValidationError) as error:
            self._bypass(error)
            return None

    def store(self, code_hash: str, trainings: list[SeedResult]) -> None:
        if self._db is None:
            return
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO trainings VALUES (?, ?, ?, ?, ?)",
                    [(self.key, code_hash, t.seed, repr(t.beta), t.model_dump_json()) for t in trainings],
                )
        except sqlite3.Error as error:
            self._bypass(error)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _open(self) -> sqlite3.Connection:
        """The cache's database; a file that is not one (or is damaged) is replaced by a new one.
        Errors of the medium (read-only, full, locked) are left to the caller."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return _connect(self.path)
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as error:
            self._warn(f"the seed-score cache {self.path} is damaged ({error}): it is started afresh")
            self.path.unlink()
            return _connect(self.path)

    def _bypass(self, error: Exception) -> None:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        self._warn(f"the seed-score cache {self.path} cannot be used ({message}): the run goes on without it")
        self.close()


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30)
    try:
        with db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS trainings (evaluator_key TEXT, code_hash TEXT, seed INTEGER,"
                " beta TEXT, result TEXT, PRIMARY KEY (evaluator_key, code_hash, seed, beta))"
            )
    except sqlite3.Error:
        db.close()
        raise
    return db
