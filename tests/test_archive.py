"""The archive keeps what the loop writes, hands it back intact, and survives a killed writer."""

import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from discovery.archive import ARCHIVE_FILE, Archive, ArchiveError, RunLock, list_runs
from discovery.errors import UserError
from discovery.records import CandidateStatus, EvaluationResult, ExchangeRecord, RunStatus
from tests.support.archive_factory import build_run, metrics, proposal, run_record, seed_candidates

REPO = Path(__file__).resolve().parents[1]


def test_records_round_trip_with_nested_fields(tmp_path: Path) -> None:
    run = run_record("r1", RunStatus.RUNNING)
    seeds = seed_candidates("r1")
    novel = proposal("r1", 0, 1, ["seed-discopop", "seed-dpo"], exchange_id=None)
    with Archive.create(tmp_path, run) as archive:
        archive.add_candidates(seeds)
        archive.add_candidate(novel)
    with Archive.open(tmp_path, "r1") as archive:
        assert archive.run() == run
        assert archive.candidate("seed-discopop") == seeds[4]
        assert archive.candidate("seed-discopop").reported.figures["alpaca_lc_vs_sft"] == 65.18
        assert archive.candidate(novel.id) == novel
        assert archive.run_dir == tmp_path / "r1"


def test_candidates_filter_and_leaderboard_order(tmp_path: Path) -> None:
    build_run(tmp_path, "r1", proposals=12)
    with Archive.open(tmp_path) as archive:
        board = archive.leaderboard()
        assert [c.fitness for c in board] == sorted((c.fitness for c in board), reverse=True)
        assert all(c.status is CandidateStatus.SCORED for c in board)
        assert archive.leaderboard(top=3) == board[:3]
        invalid = archive.candidates(status=CandidateStatus.INVALID)
        assert invalid and all(c.stage == "static" for c in invalid)
        assert [c.id for c in archive.candidates(generation=0)] == [
            f"seed-{c.name}" for c in seed_candidates("x")
        ]
        assert len(archive.candidates()) == 12 + len(seed_candidates("x"))


def test_nan_fitness_is_kept_but_never_tops_the_leaderboard(tmp_path: Path) -> None:
    nan = EvaluationResult(objective="nan", fitness=math.nan, fitness_se=math.nan, seconds=1.0, seeds=[])
    broken = proposal("r1", 0, 1, [], None).model_copy(update={"figures": nan})
    with Archive.create(tmp_path, run_record("r1")) as archive:
        archive.add_candidates([*seed_candidates("r1"), broken])
        assert broken.id not in {c.id for c in archive.leaderboard()}
        assert math.isnan(archive.candidate(broken.id).fitness)


def test_update_and_lookup_of_candidates(tmp_path: Path) -> None:
    build_run(tmp_path, "r1", proposals=6)
    with Archive.open(tmp_path, "r1", writable=True) as archive:
        failed = archive.candidates(status=CandidateStatus.FAILED)[0]
        rescored = failed.model_copy(update={"status": CandidateStatus.SCORED, "figures": metrics("x", 9.0)})
        archive.update_candidate(rescored)
        assert archive.leaderboard(top=1)[0].id == failed.id
        assert archive.find_candidate(failed.id) == rescored
        assert archive.find_candidate("BLEND_1").name == "blend_1"
        assert archive.find_candidate("no-such") is None
        assert [c.id for c in archive.children("g1-c0")] == ["g2-c1"]
        with pytest.raises(ArchiveError, match="no candidate 'nope'"):
            archive.candidate("nope")
        with pytest.raises(ArchiveError, match="no candidate"):
            archive.update_candidate(rescored.model_copy(update={"id": "nope"}))


def test_a_repeated_id_is_refused_and_the_batch_is_all_or_nothing(tmp_path: Path) -> None:
    with Archive.create(tmp_path, run_record("r1")) as archive:
        archive.add_candidate(proposal("r1", 0, 1, [], None))
        batch = [proposal("r1", 1, 2, [], None), proposal("r1", 0, 1, [], None)]
        with pytest.raises(ArchiveError, match="already exists"):
            archive.add_candidates(batch)
        assert [c.id for c in archive.candidates()] == ["g1-c0"]


def test_exchanges_get_ids_and_tokens_add_up(tmp_path: Path) -> None:
    with Archive.create(tmp_path, run_record("r1")) as archive:
        first = archive.add_exchange(
            ExchangeRecord(
                run_id="r1", generation=1, messages=[{"role": "user", "content": "hi"}], prompt_tokens=7
            )
        )
        second = archive.add_exchange(
            ExchangeRecord(run_id="r1", generation=2, messages=[], error="HTTP 429", completion_tokens=5)
        )
        assert archive.tokens_spent() == (7, 5)
        assert archive.exchange(first).messages == [{"role": "user", "content": "hi"}]
        assert archive.exchange(second).error == "HTTP 429"
        assert [e.id for e in archive.exchanges()] == [first, second]
        with pytest.raises(ArchiveError, match="no LLM exchange 99"):
            archive.exchange(99)


def test_open_picks_newest_run_or_a_unique_prefix(tmp_path: Path) -> None:
    build_run(tmp_path, "2026-old", proposals=1, minutes_ago=60)
    build_run(tmp_path, "2026-new", proposals=1)
    with Archive.open(tmp_path) as archive:
        assert archive.run().id == "2026-new"
    with Archive.open(tmp_path, "2026-o") as archive:
        assert archive.run().id == "2026-old"
    with pytest.raises(ArchiveError, match="ambiguous"):
        Archive.open(tmp_path, "2026")
    with pytest.raises(ArchiveError, match="no run 'zzz'"):
        Archive.open(tmp_path, "zzz")
    with pytest.raises(ArchiveError, match="already exists"):
        Archive.create(tmp_path, run_record("2026-new"))


def test_missing_folder_corrupt_file_and_newer_schema_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no runs folder"):
        Archive.open(tmp_path / "absent")
    with pytest.raises(UserError, match="no runs folder"):
        list_runs(tmp_path / "absent")
    with pytest.raises(UserError, match="no runs in"):
        Archive.open(tmp_path)
    build_run(tmp_path, "good", proposals=1)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / ARCHIVE_FILE).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ArchiveError, match="not a database"):
        Archive.open(tmp_path, "bad")
    summaries = {s.id: s for s in list_runs(tmp_path)}
    assert "not a database" in summaries["bad"].error
    assert summaries["good"].error is None
    future = sqlite3.connect(tmp_path / "good" / ARCHIVE_FILE)
    future.execute("PRAGMA user_version = 99")
    future.close()
    with pytest.raises(ArchiveError, match="schema version 99"):
        Archive.open(tmp_path, "good")


def test_list_runs_summarises_each_run(tmp_path: Path) -> None:
    build_run(tmp_path, "r1", proposals=12)
    (summary,) = list_runs(tmp_path)
    with Archive.open(tmp_path, "r1") as archive:
        best = archive.leaderboard(top=1)[0]
    assert (summary.best_name, summary.best_fitness) == (best.name, best.fitness)
    assert summary.counts == {
        "scored": 6 + len(seed_candidates("x")),
        "invalid": 2,
        "duplicate": 2,
        "failed": 2,
    }
    assert (summary.status, summary.generations_done, summary.evaluator) == (
        RunStatus.FINISHED,
        12,
        "sentiment",
    )


def _python(code: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True, cwd=REPO, env=env
    )


def test_a_running_run_whose_writer_died_shows_as_interrupted(tmp_path: Path) -> None:
    writer = _python(f"""
        from tests.support.archive_factory import run_record
        from discovery.archive import Archive, RunLock
        from discovery.records import RunStatus
        with Archive.create({str(tmp_path)!r}, run_record("dead", RunStatus.RUNNING)) as archive:
            RunLock(archive.run_dir)  # still held when the process ends
    """)
    assert writer.wait(timeout=60) == 0
    Archive.create(tmp_path, run_record("never-locked", RunStatus.RUNNING)).close()
    alive = Archive.create(tmp_path, run_record("alive", RunStatus.RUNNING))
    with alive, RunLock(alive.run_dir):
        statuses = {s.id: s.status for s in list_runs(tmp_path)}
    assert statuses == {
        "dead": RunStatus.INTERRUPTED,
        "never-locked": RunStatus.INTERRUPTED,
        "alive": RunStatus.RUNNING,
    }


def test_sigkill_mid_write_loses_no_committed_candidate(tmp_path: Path) -> None:
    writer = _python(f"""
        from tests.support.archive_factory import proposal, run_record
        from discovery.archive import Archive
        archive = Archive.create({str(tmp_path)!r}, run_record("r1"))
        index = 0
        while True:
            archive.add_candidate(proposal("r1", index, index + 1, [], None))
            print(index, flush=True)
            index += 1
    """)
    committed = [int(writer.stdout.readline()) for _ in range(40)]
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    with Archive.open(tmp_path, "r1") as archive:
        stored = {c.id for c in archive.candidates()}
        assert {f"g{i + 1}-c{i}" for i in committed} <= stored
        assert archive._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert list_runs(tmp_path)[0].error is None


def test_a_reader_sees_what_another_connection_commits(tmp_path: Path) -> None:
    with Archive.create(tmp_path, run_record("r1")) as writer, Archive.open(tmp_path, "r1") as reader:
        before = reader.data_version()
        assert reader.data_version() == before
        writer.add_candidate(proposal("r1", 0, 1, [], None))
        assert reader.data_version() != before
        assert [c.id for c in reader.candidates()] == ["g1-c0"]
