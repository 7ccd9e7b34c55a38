"""Judgments stored in SQLite, so that judging the same answers again sends no request.

A judgment is keyed by (kind, question id, turn, content hash, judge model). The content hash covers
exactly what the judge was shown (prompt template, question, reference and the answer or answers),
so a changed answer, reference or judge prompt is judged afresh, and an unchanged one never is.
Failed judgments (no verdict after every attempt) are stored too, with value NULL: a rerun reports
the same failures instead of paying for them again.
"""

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS judgments (
    kind TEXT NOT NULL,
    question_id TEXT NOT NULL,
    turn INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    judge_model TEXT NOT NULL,
    value REAL,
    reply TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (kind, question_id, turn, content_hash, judge_model)
)
"""


def content_hash(messages: list[dict[str, str]]) -> str:
    """Hash of the exact judge messages."""
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Key:
    """What identifies one judgment."""

    kind: str  # "single" (a 1-10 grade) or "pairwise"
    question_id: str
    turn: int
    content_hash: str
    judge_model: str


@dataclass(frozen=True)
class Cached:
    """A stored judgment; value None is a stored failure (a miss is no `Cached` at all)."""

    value: float | None


class JudgmentCache:
    """One SQLite file; every write is its own transaction, so an interrupted run keeps what it paid for."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._transaction() as connection:
            connection.execute(SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection that commits on success, rolls back on error, and is always closed."""
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            with connection:
                yield connection
        finally:
            connection.close()

    def get(self, key: Key) -> Cached | None:
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT value FROM judgments WHERE kind=? AND question_id=? AND turn=? "
                "AND content_hash=? AND judge_model=?",
                (key.kind, key.question_id, key.turn, key.content_hash, key.judge_model),
            ).fetchone()
        return Cached(value=row[0]) if row else None

    def put(
        self, key: Key, value: float | None, reply: str, prompt_tokens: int, completion_tokens: int
    ) -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO judgments (kind, question_id, turn, content_hash, judge_model, "
                "value, reply, prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key.kind,
                    key.question_id,
                    key.turn,
                    key.content_hash,
                    key.judge_model,
                    value,
                    reply,
                    prompt_tokens,
                    completion_tokens,
                ),
            )
