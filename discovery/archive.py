"""The run archive: one SQLite database per run folder, pydantic records in and out.

Layout: `<runs_dir>/<run_id>/archive.sqlite`, with one `run` row, the `candidates` and the LLM
`exchanges`, and `writer.lock` beside it. Scalars are columns (so the browser can sort and filter in
SQL); nested fields (figures, fingerprint, parents, reported figures, config, messages) are JSON text.

Crash safety: the database is in WAL mode with `synchronous=FULL` and every write is one
`BEGIN IMMEDIATE ... COMMIT` transaction, so a writer killed with SIGKILL (or a power cut) loses
at most the write in flight and never corrupts the file; readers (the browser) never block it. A
run is created whole or not at all: its folder is built under a hidden name and renamed into place.

One writer: a process writes a run only while it holds the run's `RunLock`; readers never take it.
Read-only opens never write the database (no schema, no migration on disk: an older archive is
migrated in memory), so every reading command works on read-only media.

Liveness: the lock file names its holder (pid, host, process start time, since when). A run whose
status is `running` is reported as `interrupted` when that process is gone. A pid check cannot see
other hosts (a runs folder on a shared file system), so a run written from another machine is shown
with its stored status.

Anything unreadable (not a database, truncated, a foreign or newer schema, invalid JSON or a value
of the wrong type in a row) is an `ArchiveError`: one line naming the file and what is wrong.
"""

import fcntl
import json
import os
import shutil
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from discovery.errors import UserError, validation_message
from discovery.processes import process_alive, process_start
from discovery.records import (
    CandidateRecord,
    CandidateStatus,
    ExchangeRecord,
    RunRecord,
    RunStatus,
    TransferRecord,
    now,
)

ARCHIVE_FILE = "archive.sqlite"
LOCK_FILE = "writer.lock"
SCHEMA_VERSION = 4
RANKED = (CandidateStatus.SCORED, CandidateStatus.RUNNING)  # with figures: scored, or racing for more seeds

SCHEMA = """
CREATE TABLE run (
    id TEXT PRIMARY KEY,
    evaluator TEXT NOT NULL,
    proposer TEXT NOT NULL,
    generations_done INTEGER NOT NULL,
    status TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    config TEXT NOT NULL,
    evaluator_config TEXT NOT NULL DEFAULT '{}',
    versions TEXT NOT NULL
);
CREATE TABLE candidates (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    name TEXT NOT NULL,
    thought TEXT NOT NULL,
    code TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    is_seed INTEGER NOT NULL,
    parents TEXT NOT NULL,
    status TEXT NOT NULL,
    stage TEXT,
    reason TEXT,
    fingerprint TEXT,
    figures TEXT,
    fitness REAL,
    reported TEXT,
    exchange_id INTEGER,
    seconds REAL,
    created TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    isolation TEXT NOT NULL DEFAULT '{}',
    job TEXT,
    context TEXT,
    ranking REAL,
    beta_profile TEXT
);
CREATE INDEX candidates_status ON candidates (status, ranking);
CREATE INDEX candidates_generation ON candidates (generation);
CREATE INDEX candidates_name ON candidates (name);
CREATE INDEX candidates_code_hash ON candidates (code_hash);
CREATE TABLE exchanges (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    messages TEXT NOT NULL,
    response TEXT,
    error TEXT,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd REAL,
    seconds REAL NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE transfers (
    variant TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    result TEXT,
    failure TEXT,
    created TEXT NOT NULL,
    PRIMARY KEY (variant, candidate_id)
);
"""

_CANDIDATE_COLUMNS = (
    "id, run_id, generation, name, thought, code, code_hash, is_seed, parents, status, stage, reason, "
    "fingerprint, figures, fitness, reported, exchange_id, seconds, created, attempts, isolation, job, "
    "context, ranking, beta_profile"
)
_RUN_COLUMNS = (
    "id, evaluator, proposer, generations_done, status, started, ended, config, evaluator_config, versions"
)
_EXCHANGE_COLUMNS = (
    "run_id, generation, messages, response, error, prompt_tokens, completion_tokens, cost_usd, "
    "seconds, created"
)


def _migrate_1_to_2(db: sqlite3.Connection) -> None:
    """Version 1 kept the evaluator's settings inside the run config (and a retrain's plan as the
    config itself); version 2 keeps them in a column of their own beside a typed run config, and
    counts each candidate's evaluation attempts and the confinement its training had, and keeps the
    job evaluating it and the context its proposer saw. Version 1's writer columns stay in place,
    unread: the run's lock file names its writer now."""
    db.execute("ALTER TABLE run ADD COLUMN evaluator_config TEXT NOT NULL DEFAULT '{}'")
    db.execute("ALTER TABLE candidates ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE candidates ADD COLUMN isolation TEXT NOT NULL DEFAULT '{}'")
    db.execute("ALTER TABLE candidates ADD COLUMN job TEXT")
    db.execute("ALTER TABLE candidates ADD COLUMN context TEXT")
    db.execute(
        "UPDATE run SET evaluator_config = config, "
        "config = json_object('evaluator', 'retrain', 'generations', 0) WHERE evaluator = 'retrain'"
    )
    db.execute(
        "UPDATE run SET evaluator_config = coalesce(json_extract(config, '$.evaluator_config'), '{}'), "
        "config = json_remove(config, '$.evaluator_config') WHERE evaluator != 'retrain'"
    )


def _migrate_2_to_3(db: sqlite3.Connection) -> None:
    """Version 3 ranks candidates by the lower end of their fitness interval (`ranking`, which for
    the single-interval-less figures of version 2 is the fitness itself) and keeps each candidate's
    gradient profile across betas, by which a beta-rescaled copy is recognised, and the results of
    re-evaluating its best candidates on held-out variants of the task (`transfers`)."""
    db.execute("ALTER TABLE candidates ADD COLUMN ranking REAL")
    db.execute("ALTER TABLE candidates ADD COLUMN beta_profile TEXT")
    db.execute("UPDATE candidates SET ranking = fitness")
    db.execute("DROP INDEX candidates_status")
    db.execute("CREATE INDEX candidates_status ON candidates (status, ranking)")
    db.execute(
        "CREATE TABLE transfers (variant TEXT NOT NULL, candidate_id TEXT NOT NULL, run_id TEXT NOT NULL,"
        " name TEXT NOT NULL, result TEXT, failure TEXT, created TEXT NOT NULL,"
        " PRIMARY KEY (variant, candidate_id))"
    )


def _migrate_3_to_4(db: sqlite3.Connection) -> None:
    """Version 4 calls a candidate's measured figures what the rest of the house calls them,
    `figures` (version 3: `metrics`)."""
    db.execute("ALTER TABLE candidates RENAME COLUMN metrics TO figures")


# schema version -> the step that upgrades an archive from it to the next version
_MIGRATIONS = {1: _migrate_1_to_2, 2: _migrate_2_to_3, 3: _migrate_3_to_4}

# Columns holding JSON text, decoded when a row is read.
_RUN_JSON = ("config", "evaluator_config", "versions")
_CANDIDATE_JSON = (
    "parents",
    "fingerprint",
    "figures",
    "reported",
    "isolation",
    "job",
    "context",
    "beta_profile",
)
_EXCHANGE_JSON = ("messages",)
_TRANSFER_COLUMNS = "variant, candidate_id, run_id, name, result, failure, created"
_TRANSFER_JSON = ("result",)
# table -> its columns that hold JSON text (what docs/archive-schema.md, `archive_doc`, expands)
JSON_COLUMNS = {
    "run": _RUN_JSON,
    "candidates": _CANDIDATE_JSON,
    "exchanges": _EXCHANGE_JSON,
    "transfers": _TRANSFER_JSON,
}

Record = TypeVar("Record", bound=BaseModel)


class ArchiveError(UserError):
    """A missing, unknown, corrupt or unreadable archive; the message is one line a user can act on."""


class RunBusy(ArchiveError):
    """Another live process holds the run's lock: it is the run's writer."""


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


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")  # keeps NaN as NaN (model_dump_json would write null)
    return json.dumps(value)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class RunWriter(BaseModel):
    """The process that holds a run's lock, as its lock file names it."""

    pid: int
    host: str
    start: str | None  # see `process_start`
    since: datetime

    @classmethod
    def this_process(cls) -> "RunWriter":
        pid = os.getpid()
        return cls(pid=pid, host=socket.gethostname(), start=process_start(pid), since=now())

    def alive(self) -> bool:
        """Whether the process still runs; a process on another machine is taken to (it cannot be seen)."""
        return self.host != socket.gethostname() or process_alive(self.pid, self.start)

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since:%Y-%m-%d %H:%M:%S %Z}"


def _lock_holder(run_dir: Path) -> RunWriter | None:
    """The process the run's lock file names (it holds the lock only while it lives), if any."""
    try:
        return RunWriter.model_validate_json((run_dir / LOCK_FILE).read_bytes())
    except (OSError, ValidationError):
        return None


class RunLock:
    """The exclusive right to write one run, held from construction until `release` (or the end of
    a `with` block); a second process asking for it is refused with a `RunBusy` naming the holder.

    It is an OS lock (`flock`) on `writer.lock` in the run's folder, taken without waiting, so two
    processes started together cannot both get it. The kernel drops it when its holder exits,
    however it exits (SIGKILL, out of memory), so a dead holder never blocks a resume, and there is
    no lease to renew while a candidate trains for hours. It belongs to the process, not to a thread
    or a database connection: every thread of the holder may write the run. On NFS, Linux takes the
    lock on the server, which frees it when the holder's machine stops renewing its lease. Python
    opens files non-inheritable, so helpers started with exec never keep it past their parent.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        path = self.run_dir / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise ArchiveError(f"cannot write run {self.run_dir.name}: {path}: {error.strerror}") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = _lock_holder(self.run_dir)
            writer = holder if holder is not None and holder.alive() else "another process"
            raise RunBusy(
                f"run {self.run_dir.name} is being written by {writer}: stop it first, or wait until it ends"
            ) from None
        self._fd: int | None = fd
        try:
            os.ftruncate(fd, 0)  # a killed holder's name may still be there
            os.pwrite(fd, RunWriter.this_process().model_dump_json().encode(), 0)
        except OSError as error:
            self.release()
            raise ArchiveError(f"cannot write run {self.run_dir.name}: {path}: {error.strerror}") from error

    def release(self) -> None:
        """Give the lock up; the file stops naming this process (a killed holder's name stays in it,
        which is why readers check that the named process lives)."""
        if self._fd is not None:
            with suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the only descriptor of the lock drops it
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()


def run_best(candidates: Iterable[CandidateRecord], needs: int) -> CandidateRecord | None:
    """The run's best among `candidates`: the highest `ranking` (the lower end of the fitness interval)
    among the ranked ones with figures from at least `needs` seeds at their best beta (the run's
    `best_needs`), the first of a tie. The one rule for the archive, the loop's racing and every view
    of a running run, so that none of them crowns another candidate."""
    eligible = (
        c for c in candidates if c.status in RANKED and c.figures is not None and c.figures.n >= needs
    )
    return max(eligible, key=lambda c: c.figures.ranking, default=None)  # type: ignore[union-attr]


class Archive:
    """One run's archive. Every write is one transaction; reads see the latest committed state.

    It is opened read-only unless `writable`: only the holder of the run's `RunLock` writes a run.
    """

    def __init__(self, path: Path, writable: bool = False) -> None:
        """Open the existing database at `path` (`create` makes a new one)."""
        self.path = Path(path)
        self.run_dir = self.path.parent
        self.writable = writable
        if not self.path.is_file():
            raise ArchiveError(f"no archive at {self.path}")
        try:
            self._db = sqlite3.connect(
                self._uri(), uri=True, isolation_level=None, timeout=10.0, check_same_thread=False
            )
        except sqlite3.Error as error:
            raise ArchiveError(f"cannot open archive {self.path}: {error}") from error
        self._db.row_factory = sqlite3.Row
        try:
            self._prepare()
        except ArchiveError:
            self._db.close()
            raise

    def _uri(self) -> str:
        """Read-write for the writer, read-only for everyone else. A reader of a WAL database needs
        its shared-memory file, which SQLite cannot create on read-only media: there, unless a
        writer left one behind, the file is opened as immutable (it cannot change on such media,
        and an archive closed cleanly keeps nothing in a WAL file)."""
        uri = self.path.absolute().as_uri()
        if self.writable:
            return f"{uri}?mode=rw"
        if os.access(self.run_dir, os.W_OK) or Path(f"{self.path}-shm").exists():
            return f"{uri}?mode=ro"
        return f"{uri}?immutable=1"

    def _prepare(self) -> None:
        """Check the schema version, bring an older archive up to date (on disk for the writer, in
        a private in-memory copy for a reader, which never writes), and set durable writes."""
        with self._errors("open"):
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                raise ArchiveError(self._unversioned())
            if version > SCHEMA_VERSION:
                raise ArchiveError(
                    f"archive {self.path} has schema version {version}; this discover reads up to "
                    f"{SCHEMA_VERSION}: upgrade discover"
                )
            if version < SCHEMA_VERSION:
                if not self.writable:
                    self._db = self._copy_in_memory()
                self._migrate(version)
            if self.writable:
                self._db.execute("PRAGMA synchronous = FULL")

    def _unversioned(self) -> str:
        """Why a database without a schema version is not an archive (`create` always sets one)."""
        if self.path.stat().st_size == 0:
            return f"archive {self.path} is an empty file, not a run: delete its folder"
        return f"archive {self.path} has no schema version: discover did not write it, or it is damaged"

    def _copy_in_memory(self) -> sqlite3.Connection:
        memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        memory.row_factory = sqlite3.Row
        try:
            self._db.backup(memory)
        except sqlite3.Error:
            memory.close()
            raise
        self._db.close()
        return memory

    def _migrate(self, version: int) -> None:
        """Bring an archive written by an older discover up to `SCHEMA_VERSION`, one step at a time."""
        with self._write():
            for step in range(version, SCHEMA_VERSION):
                _MIGRATIONS[step](self._db)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def create(cls, runs_dir: Path, run: RunRecord) -> "Archive":
        """Make `<runs_dir>/<run.id>/archive.sqlite` holding `run`, and open it for writing.

        The folder is built under a hidden name and renamed into place once the archive holds the
        run record, so no reader ever sees a half-made run and a failure (a full disk) leaves none.
        """
        _check_run_id(run.id)
        runs_dir = Path(runs_dir)
        folder = runs_dir / run.id
        if folder.exists():
            raise ArchiveError(f"run '{run.id}' already exists in {runs_dir}")
        staging = runs_dir / f".{run.id}-{os.getpid()}.creating"
        try:
            staging.mkdir(parents=True)
            try:
                _initialise(staging / ARCHIVE_FILE, run)
                staging.rename(folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)  # nothing left once renamed
        except (OSError, sqlite3.Error) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            raise ArchiveError(f"cannot create run {run.id} in {runs_dir}: {reason}") from error
        return cls(folder / ARCHIVE_FILE, writable=True)

    @classmethod
    def open(cls, runs_dir: Path, run_id: str | None = None, writable: bool = False) -> "Archive":
        """The run `run_id` (exact, or a unique prefix) under `runs_dir`; `None` opens the newest run."""
        return cls(find_run(runs_dir, run_id) / ARCHIVE_FILE, writable)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Archive":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # -- the run --------------------------------------------------------------------------------

    def run(self) -> RunRecord:
        with self._errors("read run"):
            row = self._db.execute(f"SELECT {_RUN_COLUMNS} FROM run").fetchone()
        if row is None:
            raise ArchiveError(f"archive {self.path} holds no run record")
        fields = dict(row)
        del fields["evaluator"]  # derived from the config
        return self._record(RunRecord, fields, "the run record", _RUN_JSON)

    def update_run(self, run: RunRecord) -> None:
        """Replace the run record."""
        with self._errors("update run"), self._write():
            updated = self._db.execute(
                "UPDATE run SET evaluator = ?, proposer = ?, generations_done = ?, status = ?, started = ?, "
                "ended = ?, config = ?, evaluator_config = ?, versions = ? WHERE id = ?",
                (*_run_values(run)[1:], run.id),
            ).rowcount
            if not updated:
                raise ArchiveError(f"archive {self.path} holds no run '{run.id}'")

    def status(self) -> RunStatus:
        """The stored status, except that a `running` run whose writer process is gone is `interrupted`."""
        status = self.run().status
        if status is RunStatus.RUNNING:
            writer = _lock_holder(self.run_dir)
            if writer is None or not writer.alive():
                return RunStatus.INTERRUPTED
        return status

    # -- candidates -----------------------------------------------------------------------------

    def add_candidate(self, candidate: CandidateRecord) -> None:
        """Store a new candidate; its id must be new in this run."""
        self.add_candidates([candidate])

    def add_candidates(self, candidates: Iterable[CandidateRecord]) -> None:
        """Store several new candidates in one transaction (all or none), e.g. a run's seeds."""
        placeholders = ", ".join("?" * len(_CANDIDATE_COLUMNS.split(",")))
        with self._errors("add candidate"), self._write():
            for candidate in candidates:
                try:
                    self._db.execute(
                        f"INSERT INTO candidates ({_CANDIDATE_COLUMNS}) VALUES ({placeholders})",
                        _candidate_values(candidate),
                    )
                except sqlite3.IntegrityError as error:
                    raise ArchiveError(f"candidate id '{candidate.id}' already exists in this run") from error

    def update_candidate(self, candidate: CandidateRecord) -> None:
        """Replace a stored candidate (same id) with `candidate`."""
        columns = _CANDIDATE_COLUMNS.split(", ")[1:]
        assignments = ", ".join(f"{column} = ?" for column in columns)
        with self._errors("update candidate"), self._write():
            updated = self._db.execute(
                f"UPDATE candidates SET {assignments} WHERE id = ?",
                (*_candidate_values(candidate)[1:], candidate.id),
            ).rowcount
        if not updated:
            raise ArchiveError(f"no candidate '{candidate.id}' in run {self.run_dir.name}")

    def candidate(self, candidate_id: str) -> CandidateRecord:
        found = self._select_candidates("WHERE id = ?", (candidate_id,))
        if not found:
            raise ArchiveError(f"no candidate '{candidate_id}' in run {self.run_dir.name}")
        return found[0]

    def find_candidate(self, id_or_name: str) -> CandidateRecord | None:
        """By id, else by name (exact, then ignoring case); among equal names the newest wins."""
        for clause in ("WHERE id = ?", "WHERE name = ?", "WHERE name = ? COLLATE NOCASE"):
            found = self._select_candidates(f"{clause} ORDER BY seq DESC LIMIT 1", (id_or_name,))
            if found:
                return found[0]
        return None

    def candidates(
        self, status: CandidateStatus | None = None, generation: int | None = None
    ) -> list[CandidateRecord]:
        """Candidates in the order they were added, optionally of one status and/or generation."""
        clauses, values = [], []
        if status is not None:
            clauses.append("status = ?")
            values.append(CandidateStatus(status).value)
        if generation is not None:
            clauses.append("generation = ?")
            values.append(generation)
        where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
        return self._select_candidates(f"{where}ORDER BY seq", tuple(values))

    def leaderboard(self, top: int | None = None) -> list[CandidateRecord]:
        """Candidates with figures (scored, or racing for more seeds), by the lower end of their
        fitness interval, best first (ties: earlier first)."""
        limit = "" if top is None else f" LIMIT {int(top)}"
        return self._select_candidates(
            "WHERE status IN (?, ?) AND ranking IS NOT NULL ORDER BY ranking DESC, seq" + limit,
            tuple(status.value for status in RANKED),
        )

    def best(self) -> CandidateRecord | None:
        """The run's best (`run_best`) among its candidates with figures."""
        return run_best(self.leaderboard(), self.run().config.best_needs)

    def recent_proposals(self, count: int) -> list[CandidateRecord]:
        """The last `count` proposed (not seed) candidates, oldest first."""
        if count <= 0:
            return []
        newest = self._select_candidates("WHERE is_seed = 0 ORDER BY seq DESC LIMIT ?", (count,))
        return newest[::-1]

    def children(self, candidate_id: str) -> list[CandidateRecord]:
        """Candidates that name `candidate_id` among their parents."""
        return self._select_candidates(
            "WHERE EXISTS (SELECT 1 FROM json_each(parents) WHERE value = ?) ORDER BY seq", (candidate_id,)
        )

    def counts(self) -> dict[str, int]:
        """Number of candidates per status (only statuses that occur)."""
        with self._errors("read candidates"):
            rows = self._db.execute("SELECT status, count(*) FROM candidates GROUP BY status").fetchall()
        return {status: count for status, count in rows}

    def _select_candidates(self, clause: str, values: tuple) -> list[CandidateRecord]:
        with self._errors("read candidates"):
            rows = self._db.execute(
                f"SELECT {_CANDIDATE_COLUMNS} FROM candidates {clause}", values
            ).fetchall()
        candidates = []
        for row in rows:
            fields = dict(row)
            del fields["fitness"], fields["ranking"]  # derived from figures
            candidates.append(
                self._record(CandidateRecord, fields, f"candidate {row['id']}", _CANDIDATE_JSON)
            )
        return candidates

    # -- LLM exchanges --------------------------------------------------------------------------

    def add_exchange(self, exchange: ExchangeRecord) -> int:
        """Store an exchange and return the id the archive gave it (its own `id` is ignored)."""
        with self._errors("add exchange"), self._write():
            cursor = self._db.execute(
                f"INSERT INTO exchanges ({_EXCHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    exchange.run_id,
                    exchange.generation,
                    _dump(exchange.messages),
                    exchange.response,
                    exchange.error,
                    exchange.prompt_tokens,
                    exchange.completion_tokens,
                    exchange.cost_usd,
                    exchange.seconds,
                    exchange.created.isoformat(),
                ),
            )
        return int(cursor.lastrowid)

    def exchange(self, exchange_id: int) -> ExchangeRecord:
        found = self._select_exchanges("WHERE id = ?", (exchange_id,))
        if not found:
            raise ArchiveError(f"no LLM exchange {exchange_id} in run {self.run_dir.name}")
        return found[0]

    def exchanges(self) -> list[ExchangeRecord]:
        return self._select_exchanges("ORDER BY id", ())

    def cost_spent(self) -> float:
        """Estimated USD over every exchange of the run (exchanges without an estimate count 0)."""
        with self._errors("read exchanges"):
            row = self._db.execute("SELECT coalesce(sum(cost_usd), 0) FROM exchanges").fetchone()
        return float(row[0])

    def tokens_spent(self) -> tuple[int, int]:
        """(prompt, completion) tokens over every exchange of the run."""
        with self._errors("read exchanges"):
            row = self._db.execute(
                "SELECT coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0) FROM exchanges"
            ).fetchone()
        return int(row[0]), int(row[1])

    # -- held-out transfer ----------------------------------------------------------------------

    def add_transfer(self, transfer: TransferRecord) -> None:
        """Store a transfer result, replacing an earlier one of the same variant and candidate."""
        with self._errors("add transfer"), self._write():
            self._db.execute(
                f"INSERT OR REPLACE INTO transfers ({_TRANSFER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    transfer.variant,
                    transfer.candidate_id,
                    transfer.run_id,
                    transfer.name,
                    _dump(transfer.result),
                    transfer.failure,
                    transfer.created.isoformat(),
                ),
            )

    def transfers(self) -> list[TransferRecord]:
        """Every transfer result of the run, by variant then candidate."""
        with self._errors("read transfers"):
            rows = self._db.execute(
                f"SELECT {_TRANSFER_COLUMNS} FROM transfers ORDER BY variant, candidate_id"
            ).fetchall()
        return [
            self._record(
                TransferRecord, dict(row), f"transfer {row['variant']}/{row['candidate_id']}", _TRANSFER_JSON
            )
            for row in rows
        ]

    def _select_exchanges(self, clause: str, values: tuple) -> list[ExchangeRecord]:
        with self._errors("read exchanges"):
            rows = self._db.execute(
                f"SELECT id, {_EXCHANGE_COLUMNS} FROM exchanges {clause}", values
            ).fetchall()
        return [
            self._record(ExchangeRecord, dict(row), f"LLM exchange {row['id']}", _EXCHANGE_JSON)
            for row in rows
        ]

    # -- change detection -----------------------------------------------------------------------

    def data_version(self) -> int:
        """A number that changes whenever another connection commits (cheap: no table is read).

        The browser polls it to refresh only when the loop has written something.
        """
        with self._errors("read"):
            return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    # -- plumbing -------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One transaction, taking the write lock up front so concurrent writers queue instead of failing."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn sqlite failures (corrupt file, locked, disk full) into one-line `ArchiveError`s."""
        try:
            yield
        except sqlite3.Error as error:
            raise ArchiveError(f"archive {self.path}: cannot {action}: {error}") from error

    def _record(
        self, model: type[Record], fields: dict[str, Any], what: str, json_columns: tuple[str, ...]
    ) -> Record:
        """The row `fields` of `what` as a `model`, its JSON columns decoded; whatever is wrong in
        it (invalid JSON, a value of the wrong type) is one line naming the row and the column."""
        for name in json_columns:
            try:
                fields[name] = _load(fields[name])
            except (TypeError, ValueError) as error:
                raise ArchiveError(
                    f"archive {self.path}: {what} is unreadable: {name} is not valid JSON ({error})"
                ) from error
        try:
            return model.model_validate(fields)
        except ValidationError as error:
            raise ArchiveError(
                f"archive {self.path}: {what} is unreadable ({validation_message(error)})"
            ) from error


def _check_run_id(run_id: str) -> None:
    if not run_id or run_id.startswith(".") or "/" in run_id or "\\" in run_id:
        raise ArchiveError(f"invalid run id '{run_id}': use letters, digits, '-', '_' and '.' (not first)")


def _initialise(path: Path, run: RunRecord) -> None:
    """Write a new archive at `path`: its schema and the run record, in one transaction."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA.split(";"):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute(
            f"INSERT INTO run ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _run_values(run)
        )
        db.execute("COMMIT")
    finally:
        db.close()


def _run_values(run: RunRecord) -> tuple:
    return (
        run.id,
        run.config.evaluator,
        run.proposer,
        run.generations_done,
        run.status.value,
        run.started.isoformat(),
        run.ended.isoformat() if run.ended else None,
        _dump(run.config),
        _dump(run.evaluator_config),
        _dump(run.versions),
    )


def _candidate_values(candidate: CandidateRecord) -> tuple:
    return (
        candidate.id,
        candidate.run_id,
        candidate.generation,
        candidate.name,
        candidate.thought,
        candidate.code,
        candidate.code_hash,
        int(candidate.is_seed),
        _dump(candidate.parents),
        candidate.status.value,
        candidate.stage,
        candidate.reason,
        _dump(candidate.fingerprint),
        _dump(candidate.figures),
        candidate.fitness,
        _dump(candidate.reported),
        candidate.exchange_id,
        candidate.seconds,
        candidate.created.isoformat(),
        candidate.attempts,
        _dump(candidate.isolation),
        _dump(candidate.job),
        _dump(candidate.context),
        candidate.figures.ranking if candidate.figures else None,
        _dump(candidate.beta_profile),
    )


def _run_folders(runs_dir: Path) -> list[Path]:
    """Folders of `runs_dir` that hold an archive (not the hidden ones of runs being created); a
    missing or unreadable `runs_dir` is the user's to fix."""
    if not runs_dir.is_dir():
        raise ArchiveError(
            f"no runs folder at {runs_dir} (start one with `discover run`, or give --runs-dir)"
        )
    try:
        folders = list(runs_dir.iterdir())
    except OSError as error:
        raise ArchiveError(f"cannot read the runs folder {runs_dir}: {error.strerror}") from error
    return [f for f in folders if not f.name.startswith(".") and (f / ARCHIVE_FILE).is_file()]


def find_run(runs_dir: Path, run_id: str | None = None) -> Path:
    """The folder of run `run_id` (exact, or a unique prefix) under `runs_dir`; `None`: the newest run."""
    runs_dir = Path(runs_dir)
    folders = _run_folders(runs_dir)
    if run_id is None:
        if not folders:
            raise ArchiveError(f"no runs in {runs_dir} (start one with `discover run`)")
        return _newest(folders)
    if run_id in {folder.name for folder in folders}:
        return runs_dir / run_id
    matches = [folder for folder in folders if folder.name.startswith(run_id)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = ", ".join(sorted(folder.name for folder in matches))
        raise ArchiveError(f"run id '{run_id}' is ambiguous in {runs_dir}: {names}")
    raise ArchiveError(f"no run '{run_id}' in {runs_dir} (see `discover runs`)")


def _newest(folders: list[Path]) -> Path:
    """The folder whose run started last (falls back to file age when a run record is unreadable)."""

    def started(folder: Path) -> str:
        try:
            with Archive(folder / ARCHIVE_FILE) as archive:
                return archive.run().started.isoformat()
        except ArchiveError:
            return ""

    return max(folders, key=lambda folder: (started(folder), (folder / ARCHIVE_FILE).stat().st_mtime))


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
    for folder in _run_folders(Path(runs_dir)):
        try:
            with Archive(folder / ARCHIVE_FILE) as archive:
                summaries.append(summarize(archive))
        except ArchiveError as error:
            summaries.append(RunSummary(id=folder.name, path=folder, error=str(error)))
    return sorted(summaries, key=lambda s: s.started.isoformat() if s.started else "", reverse=True)
