"""A run's archive: one SQLite database per run folder, pydantic records in and out.

Layout: `<runs_dir>/<run_id>/archive.sqlite`, with one `run` row, the `candidates` and the LLM
`exchanges`, and `writer.lock` beside it. Its tables, and how a record is written to and read from
them, are `discovery.archive.tables`.

Crash safety: the database is in WAL mode with `synchronous=FULL` and every write is one
`BEGIN IMMEDIATE ... COMMIT` transaction, so a writer killed with SIGKILL (or a power cut) loses
at most the write in flight and never corrupts the file; readers (the browser) never block it. A
run is created whole or not at all: its folder is built under a hidden name and renamed into place.

One writer: a process writes a run only while it holds the run's `RunLock`; readers never take it.
Read-only opens never write the database (no schema, no migration on disk: an older archive is
migrated in memory), so every reading command works on read-only media.

Liveness: a run whose status is `running` is reported as `interrupted` when the process its lock
file names is gone (`discovery.archive.lock`).

Anything unreadable (not a database, truncated, a foreign or newer schema, invalid JSON or a value
of the wrong type in a row) is an `ArchiveError`: one line naming the file and what is wrong.
"""

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from discovery.archive.errors import ArchiveError
from discovery.archive.lock import lock_holder
from discovery.archive.migrations import SCHEMA_VERSION, migrate
from discovery.archive.ranking import RANKED, run_best
from discovery.archive.tables import (
    CANDIDATES,
    EXCHANGES,
    ISLAND_EVENTS,
    RUN,
    SUMMARIES,
    TABLES,
    TRANSFERS,
    Record,
    Table,
)
from discovery.records import (
    CandidateRecord,
    CandidateStatus,
    ExchangeRecord,
    IslandEvent,
    RunRecord,
    RunStatus,
    SummaryRecord,
    TransferRecord,
)

ARCHIVE_FILE = "archive.sqlite"


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
        """Bring an archive written by an older discover up to `SCHEMA_VERSION`, in one transaction."""
        with self._write():
            migrate(self._db, version)

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
            row = self._db.execute(RUN.select).fetchone()
        if row is None:
            raise ArchiveError(f"archive {self.path} holds no run record")
        return RUN.read(row, f"archive {self.path}: the run record")

    def update_run(self, run: RunRecord) -> None:
        """Replace the run record."""
        with self._errors("update run"), self._write():
            updated = self._db.execute(RUN.update(by="id"), RUN.values(run)).rowcount
            if not updated:
                raise ArchiveError(f"archive {self.path} holds no run '{run.id}'")

    def status(self) -> RunStatus:
        """The stored status, except that a `running` run whose writer process is gone is `interrupted`."""
        status = self.run().status
        if status is RunStatus.RUNNING:
            writer = lock_holder(self.run_dir)
            if writer is None or not writer.alive():
                return RunStatus.INTERRUPTED
        return status

    # -- candidates -----------------------------------------------------------------------------

    def add_candidate(self, candidate: CandidateRecord) -> None:
        """Store a new candidate; its id must be new in this run."""
        self.add_candidates([candidate])

    def add_candidates(self, candidates: Iterable[CandidateRecord]) -> None:
        """Store several new candidates in one transaction (all or none), e.g. a run's seeds."""
        with self._errors("add candidate"), self._write():
            for candidate in candidates:
                try:
                    self._db.execute(CANDIDATES.insert, CANDIDATES.values(candidate))
                except sqlite3.IntegrityError as error:
                    raise ArchiveError(f"candidate id '{candidate.id}' already exists in this run") from error

    def update_candidate(self, candidate: CandidateRecord) -> None:
        """Replace a stored candidate (same id) with `candidate`."""
        with self._errors("update candidate"), self._write():
            updated = self._db.execute(CANDIDATES.update(by="id"), CANDIDATES.values(candidate)).rowcount
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
        return self._select(CANDIDATES, clause, values, lambda row: f"candidate {row['id']}")

    # -- LLM exchanges --------------------------------------------------------------------------

    def add_exchange(self, exchange: ExchangeRecord) -> int:
        """Store an exchange and return the id the archive gave it (its own `id` is ignored)."""
        with self._errors("add exchange"), self._write():
            cursor = self._db.execute(EXCHANGES.insert, EXCHANGES.values(exchange))
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

    def exchange_models(self) -> dict[int, str | None]:
        """The model each exchange asked, by exchange id (without reading the messages)."""
        with self._errors("read exchanges"):
            rows = self._db.execute("SELECT id, model FROM exchanges").fetchall()
        return {int(exchange_id): model for exchange_id, model in rows}

    def spend_by_model(self) -> dict[str | None, tuple[float | None, int]]:
        """Per model, what its proposal requests cost (meta-summaries' requests left out): estimated
        USD (None when an exchange has no estimate) and tokens, prompt and completion together."""
        with self._errors("read exchanges"):
            rows = self._db.execute(
                "SELECT model, sum(cost_usd), count(cost_usd) = count(*), "
                "sum(prompt_tokens + completion_tokens) FROM exchanges WHERE id NOT IN "
                "(SELECT exchange_id FROM summaries WHERE exchange_id IS NOT NULL) GROUP BY model"
            ).fetchall()
        return {model: (float(usd) if priced else None, int(tokens)) for model, usd, priced, tokens in rows}

    # -- meta-summaries -------------------------------------------------------------------------

    def add_summary(self, summary: SummaryRecord) -> None:
        """Store a meta-summary, replacing an earlier one written for the same generation."""
        with self._errors("add summary"), self._write():
            self._db.execute(SUMMARIES.replace, SUMMARIES.values(summary))

    def summaries(self) -> list[SummaryRecord]:
        """The run's meta-summaries, oldest first."""
        return self._select(SUMMARIES, "ORDER BY generation", (), lambda row: f"summary {row['generation']}")

    # -- held-out transfer ----------------------------------------------------------------------

    def add_transfer(self, transfer: TransferRecord) -> None:
        """Store a transfer result, replacing an earlier one of the same variant and candidate."""
        with self._errors("add transfer"), self._write():
            self._db.execute(TRANSFERS.replace, TRANSFERS.values(transfer))

    def transfers(self) -> list[TransferRecord]:
        """Every transfer result of the run, by variant then candidate."""
        return self._select(
            TRANSFERS,
            "ORDER BY variant, candidate_id",
            (),
            lambda row: f"transfer {row['variant']}/{row['candidate_id']}",
        )

    def _select_exchanges(self, clause: str, values: tuple) -> list[ExchangeRecord]:
        return self._select(EXCHANGES, clause, values, lambda row: f"LLM exchange {row['id']}")

    # -- islands --------------------------------------------------------------------------------

    def add_island_events(self, events: Iterable[IslandEvent]) -> None:
        """Store the migrations and reseeds that start a generation, in one transaction."""
        with self._errors("add island event"), self._write():
            for event in events:
                self._db.execute(ISLAND_EVENTS.insert, ISLAND_EVENTS.values(event))

    def island_events(self) -> list[IslandEvent]:
        """Every migration and reseed of the run, by generation, island, then migrations first."""
        return self._select(
            ISLAND_EVENTS,
            "ORDER BY generation, island, kind",
            (),
            lambda row: f"island event {row['generation']}/{row['island']}/{row['kind']}",
        )

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

    def _select(
        self, table: Table[Record], clause: str, values: tuple, what: Callable[[sqlite3.Row], str]
    ) -> list[Record]:
        """The records of the rows of `table` that `clause` picks; `what` names a row in an error."""
        with self._errors(f"read {table.name}"):
            rows = self._db.execute(f"{table.select} {clause}", values).fetchall()
        return [table.read(row, f"archive {self.path}: {what(row)}") for row in rows]


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
        for table in TABLES:
            for statement in table.create():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute(RUN.insert, RUN.values(run))
        db.execute("COMMIT")
    finally:
        db.close()


def run_folders(runs_dir: Path) -> list[Path]:
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
    folders = run_folders(runs_dir)
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
