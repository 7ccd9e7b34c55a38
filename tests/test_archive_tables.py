"""The archive's tables are specified once: a new field of a record is a new column after one
migration and nothing else, and an archive migrated from version 1 has the tables of a new one."""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

from discovery.archive import ARCHIVE_FILE, SCHEMA_VERSION, Archive
from tests.support.archive_factory import build_run, proposal
from tests.support.old_archives import downgrade_to_version_1

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("discovery", "evaluators", "prompts")
DEPTH = "    depth: int | None = None  # generations since its oldest ancestor\n"

# Run in a copy of the packages whose CandidateRecord has a `depth` field: a new run stores and
# reads it back, and the run the unmodified code wrote is read (migrated in memory), then migrated.
WITH_A_DEPTH = textwrap.dedent("""
    import json
    import sys
    from pathlib import Path

    from discovery.archive import SCHEMA_VERSION, Archive
    from discovery.archive.doc import render_markdown
    from discovery.config import RunConfig
    from discovery.records import CandidateRecord, RunRecord

    runs = Path(sys.argv[1])

    def candidate(id, **fields):
        return CandidateRecord(id=id, run_id="new", generation=1, name=id, thought="t", code="c",
                               code_hash=id, **fields)

    run = RunRecord(id="new", config=RunConfig(), versions={}, proposer="builtin")
    with Archive.create(runs, run) as archive:
        archive.add_candidates([candidate("c1", depth=3), candidate("c2")])
        added = {c.id: c.depth for c in archive.candidates()}
        archive.update_candidate(candidate("c2", depth=5))
        updated = archive.candidate("c2").depth
    with Archive.open(runs, "old") as archive:
        read_only = {c.id: c.model_dump(mode="json") for c in archive.candidates()}
    with Archive.open(runs, "old", writable=True) as archive:
        migrated = {c.id: c.model_dump(mode="json") for c in archive.candidates()}
    print(json.dumps({"version": SCHEMA_VERSION, "added": added, "updated": updated, "read_only": read_only,
                      "migrated": migrated, "doc": render_markdown()}))
""")


def with_a_depth(tree: Path, version: int) -> None:
    """Copy the packages into `tree` and give CandidateRecord a `depth` field, with the migration
    that adds its column to archives of schema `version`: the only two edits."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    records = tree / "discovery" / "records.py"
    fields_end = r"(class CandidateRecord\(BaseModel\):.*?\n)(\n    @property)"
    source, added = re.subn(fields_end, rf"\1{DEPTH}\2", records.read_text(), count=1, flags=re.DOTALL)
    assert added == 1
    records.write_text(source)
    migrations = tree / "discovery" / "archive" / "migrations.py"
    step = f'''
def _add_depth(db: sqlite3.Connection) -> None:
    """Version {version + 1} keeps each candidate's lineage depth."""
    db.execute("ALTER TABLE candidates ADD COLUMN depth INTEGER")

'''
    steps = r"(\n# schema version -> .*?\n)(MIGRATIONS.*?)\n}"
    entry = rf"{step}\1\2\n    {version}: _add_depth,\n}}"
    source, added = re.subn(steps, entry, migrations.read_text(), count=1, flags=re.DOTALL)
    assert added == 1
    migrations.write_text(source)


def test_a_new_candidate_field_is_a_column_after_one_migration_and_nothing_else(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    old = build_run(runs, "old", proposals=2)
    with Archive(old / ARCHIVE_FILE) as archive:
        written = {c.id: c.model_dump(mode="json") for c in archive.candidates()}
    with_a_depth(tmp_path / "copy", SCHEMA_VERSION)

    done = subprocess.run(
        [sys.executable, "-c", WITH_A_DEPTH, str(runs)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "copy")},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    assert found["version"] == SCHEMA_VERSION + 1
    assert found["added"] == {"c1": 3, "c2": None} and found["updated"] == 5
    # the old run's candidates, read before and after its migration, with the new field's default
    assert found["read_only"] == found["migrated"] == {id: {**c, "depth": None} for id, c in written.items()}
    with closing(sqlite3.connect(old / ARCHIVE_FILE)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert (
        "| `depth` | INTEGER, NULL allowed | integer or null | generations since its oldest ancestor |"
        in found["doc"]
    )
    assert f"schema version {SCHEMA_VERSION + 1}" in found["doc"]


def shape(database: Path) -> dict[str, tuple[set, set]]:
    """Each table's columns (name, type, NOT NULL, place in the primary key) and indexes (name,
    unique, columns), as SQLite reports them."""
    with closing(sqlite3.connect(database)) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            table: (
                {(c[1], c[2], c[3], c[5]) for c in db.execute(f"PRAGMA table_info({table})")},
                {
                    (i[1], i[2], tuple(c[2] for c in db.execute(f"PRAGMA index_info({i[1]})")))
                    for i in db.execute(f"PRAGMA index_list({table})")
                },
            )
            for table in tables
        }


def test_an_archive_migrated_from_version_1_has_the_tables_of_a_new_one(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    fresh = build_run(runs, "fresh", proposals=2)
    old = build_run(runs, "old", proposals=2)
    downgrade_to_version_1(old / ARCHIVE_FILE)
    with Archive(old / ARCHIVE_FILE, writable=True) as archive:  # migrated on disk
        archive.add_candidate(proposal("old", 5, 3, [], None))
        archive.update_candidate(proposal("old", 4, 3, [], None).model_copy(update={"id": "g3-c5"}))
        assert archive.candidate("g3-c5").name == "blend_4"

    expected, migrated = shape(fresh / ARCHIVE_FILE), shape(old / ARCHIVE_FILE)
    # version 1 named the run's writer in the run row; its columns stay, unread and nullable
    writer = {("writer_pid", "INTEGER", 0, 0), ("writer_host", "TEXT", 0, 0), ("writer_start", "TEXT", 0, 0)}
    assert writer <= migrated["run"][0]
    migrated["run"] = (migrated["run"][0] - writer, migrated["run"][1])
    assert migrated == expected
