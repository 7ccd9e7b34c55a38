"""Scores of the shipped seed objectives, shared by every run with the same evaluator configuration.

Seeding a run means scoring eleven objectives; a second run on the same task would get the same
figures, so they are stored once per (evaluator configuration, code hash) and reused.
"""

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from discovery.records import EvaluationResult


def evaluator_key(name: str, version: int, config: dict[str, Any], seeds: list[int]) -> str:
    """Identity of everything that decides a seed's figures."""
    blob = json.dumps(
        {"evaluator": name, "version": version, "config": config, "seeds": seeds}, sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class SeedScoreCache:
    """A small SQLite table of (evaluator key, code hash) -> evaluation result."""

    def __init__(self, path: Path, key: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.key = key
        self._db = sqlite3.connect(path, timeout=30)
        with self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS seed_scores ("
                " evaluator_key TEXT, code_hash TEXT, result TEXT, PRIMARY KEY (evaluator_key, code_hash))"
            )

    def lookup(self, code_hash: str) -> EvaluationResult | None:
        row = self._db.execute(
            "SELECT result FROM seed_scores WHERE evaluator_key = ? AND code_hash = ?", (self.key, code_hash)
        ).fetchone()
        return EvaluationResult.model_validate_json(row[0]) if row else None

    def store(self, code_hash: str, result: EvaluationResult) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO seed_scores VALUES (?, ?, ?)",
                (self.key, code_hash, result.model_dump_json()),
            )

    def close(self) -> None:
        self._db.close()
