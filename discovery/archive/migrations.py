"""The steps that bring an archive written by an older discover up to the current schema.

Each step is SQL as it was written for its version, never derived from the tables' current
specification: a step describes the schema of its day, whatever the records become later. A new
column of a record is one more step here (and the schema version follows from the steps).
"""

import sqlite3
from collections.abc import Callable


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


def _migrate_4_to_5(db: sqlite3.Connection) -> None:
    """Version 5 runs may train on a task suite (`RunConfig.suite`, whose default is the evaluator's
    default suite); a run written before suites existed trained on its task alone, and resumes so."""
    db.execute(
        "UPDATE run SET config = json_set(config, '$.suite', 'single') "
        "WHERE json_extract(config, '$.suite') IS NULL"
    )


def _migrate_5_to_6(db: sqlite3.Connection) -> None:
    """Version 6 splits a run's population into islands and a behaviour map: each candidate keeps
    where the sandbox placed it (`descriptors`, `cell`) and the island it was proposed on, and
    `island_events` the migrations and reseeds. A run written before searched one population with the
    classic moves and resumes so (its candidates have no island and no cell)."""
    db.execute("ALTER TABLE candidates ADD COLUMN descriptors TEXT")
    db.execute("ALTER TABLE candidates ADD COLUMN cell TEXT")
    db.execute("ALTER TABLE candidates ADD COLUMN island INTEGER")
    db.execute(
        "CREATE TABLE island_events (run_id TEXT NOT NULL, generation INTEGER NOT NULL,"
        " island INTEGER NOT NULL, kind TEXT NOT NULL, candidates TEXT NOT NULL, source INTEGER,"
        " created TEXT NOT NULL, PRIMARY KEY (generation, island, kind))"
    )
    db.execute(
        "UPDATE run SET config = json_set(config, '$.search', "
        """json('{"islands": 1, "behaviour_map": false, "operators": "classic"}')) """
        "WHERE json_extract(config, '$.search') IS NULL"
    )


def _migrate_6_to_7(db: sqlite3.Connection) -> None:
    """Version 7 proposers may be an ensemble of models: each exchange names the model it asked
    (NULL before: the run's one model, which the run config names), and the LLM's meta-summaries of
    the run are kept (`summaries`), one per generation whose requests they were written for."""
    db.execute("ALTER TABLE exchanges ADD COLUMN model TEXT")
    db.execute(
        "CREATE TABLE summaries (run_id TEXT NOT NULL, generation INTEGER NOT NULL, text TEXT NOT NULL,"
        " exchange_id INTEGER, created TEXT NOT NULL, PRIMARY KEY (run_id, generation))"
    )


# schema version -> the step that upgrades an archive from it to the next version
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
    3: _migrate_3_to_4,
    4: _migrate_4_to_5,
    5: _migrate_5_to_6,
    6: _migrate_6_to_7,
}
SCHEMA_VERSION = max(MIGRATIONS) + 1  # what a new archive is created at and an older one migrated to


def migrate(db: sqlite3.Connection, version: int) -> None:
    """Bring the archive `db` (in a transaction the caller holds) from `version` to `SCHEMA_VERSION`,
    one step at a time."""
    for step in range(version, SCHEMA_VERSION):
        MIGRATIONS[step](db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
