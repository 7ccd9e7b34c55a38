"""Every way an archive can be damaged is one line naming the file and what is wrong, on every
reading command; `discover runs` lists a damaged run with its error instead of failing."""

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from discovery.archive import ARCHIVE_FILE, Archive, ArchiveError, list_runs, summarize
from discovery.ui.browser import Browser
from tests.support.archive_factory import build_run
from tests.support.commands import discover_main


def sql(*statements: str) -> Callable[[Path], None]:
    def damage(database: Path) -> None:
        with closing(sqlite3.connect(database)) as db:
            for statement in statements:
                db.execute(statement)
            db.commit()

    return damage


def write(data: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def damage(database: Path) -> None:
        database.write_bytes(data(database.read_bytes()))

    return damage


def candidate(column: str, value: str) -> Callable[[Path], None]:
    return sql(f"UPDATE candidates SET {column} = '{value}' WHERE id = 'g1-c0'")


def run_column(column: str, value: str) -> Callable[[Path], None]:
    return sql(f"UPDATE run SET {column} = '{value}'")


CASES = {
    # invalid JSON in each JSON column
    "run config JSON": (
        run_column("config", "{oops"),
        "the run record is unreadable: config is not valid JSON",
    ),
    "evaluator config JSON": (run_column("evaluator_config", "{"), "evaluator_config is not valid JSON"),
    "versions JSON": (run_column("versions", "[1,"), "versions is not valid JSON"),
    "parents JSON": (
        candidate("parents", "[seed"),
        "candidate g1-c0 is unreadable: parents is not valid JSON",
    ),
    "fingerprint JSON": (candidate("fingerprint", "0.1,"), "fingerprint is not valid JSON"),
    "figures JSON": (candidate("figures", "{fitness"), "figures is not valid JSON"),
    "reported JSON": (candidate("reported", "{"), "reported is not valid JSON"),
    "isolation JSON": (candidate("isolation", "nope"), "isolation is not valid JSON"),
    "messages JSON": (sql("UPDATE exchanges SET messages = '[{'"), "LLM exchange 1 is unreadable"),
    # valid JSON, wrong types or values
    "config no longer validates": (run_column("config", '{"generations": "ten"}'), "config.generations"),
    "config with an unknown option": (run_column("config", '{"turbo": true}'), "config.turbo"),
    "config not a mapping": (run_column("config", "[]"), "the run record is unreadable (config"),
    "run status": (run_column("status", "paused"), "status"),
    "run start time": (run_column("started", "yesterday"), "started"),
    "generations done": (run_column("generations_done", "many"), "generations_done"),
    "candidate generation": (candidate("generation", "first"), "candidate g1-c0 is unreadable (generation"),
    "candidate status": (candidate("status", "great"), "candidate g1-c0 is unreadable (status"),
    "candidate seed flag": (candidate("is_seed", "maybe"), "is_seed"),
    "figures of the wrong shape": (candidate("figures", '{"fitness": "high"}'), "figures."),
    "parents not a list": (candidate("parents", '{"a": 1}'), "parents"),
    "messages not a list": (sql("UPDATE exchanges SET messages = '\"hi\"'"), "messages"),
    # damaged structure or file
    "no run record": (sql("DELETE FROM run"), "holds no run record"),
    "missing run table": (sql("DROP TABLE run"), "no such table: run"),
    "missing candidates table": (sql("DROP TABLE candidates"), "no such table: candidates"),
    "missing exchanges table": (sql("DROP TABLE exchanges"), "no such table: exchanges"),
    "missing column": (sql("ALTER TABLE candidates DROP COLUMN isolation"), "no such column: isolation"),
    "garbage file": (write(lambda data: b"garbage" * 1000), "file is not a database"),
    "truncated file": (write(lambda data: data[: len(data) // 3]), "database disk image is malformed"),
    "empty file": (write(lambda data: b""), "is an empty file, not a run"),
    "user_version 0 with tables": (sql("PRAGMA user_version = 0"), "has no schema version"),
    "newer schema version": (sql("PRAGMA user_version = 99"), "has schema version 99"),
}


def read_everything(runs: Path) -> None:
    with Archive.open(runs, "r1") as archive:
        summarize(archive)
        archive.candidates()
        archive.exchanges()


@pytest.mark.parametrize("case", CASES)
def test_a_damaged_archive_is_one_line_on_every_reading_command(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    damage, expected = CASES[case]
    runs = tmp_path / "runs"
    build_run(runs, "r1", proposals=2)
    build_run(runs, "r2", proposals=1, minutes_ago=10)
    database = runs / "r1" / ARCHIVE_FILE
    damage(database)
    monkeypatch.setenv("DISCOVER_RUNS_DIR", str(runs))
    monkeypatch.setenv("COLUMNS", "1000")

    with pytest.raises(ArchiveError) as raised:
        read_everything(runs)
    message = str(raised.value)
    assert expected in message and str(database) in message and "\n" not in message

    listed = {summary.id: summary for summary in list_runs(runs)}
    assert listed["r2"].error is None  # the others are still listed
    assert listed["r1"].error is None or str(database) in listed["r1"].error

    for command in (
        ["runs"],
        ["runs", "--json"],
        ["archive", "r1", "--status", "all"],
        ["show", "r1/g1-c0", "--json"],
        ["export", "r1/g1-c0", "-o", "-"],
        ["show", "g1-c0", "--run", "r2", "--json"],
    ):
        code, _, err = discover_main(capsys, *command)
        assert code in (0, 2), (command, err)
        if code == 2:
            assert err.count("\n") == 1 and str(database) in err, (command, err)
    try:
        Browser(runs, "r1").archive.close()
    except ArchiveError as error:
        assert str(database) in str(error)
