"""Full disks and read-only media: a run stops with the command that resumes it and loses nothing;
a run is created whole or not at all; the seed-score cache is never worth a score; every reading
command works on read-only media and never writes an archive, not even an empty or an old one.

Disks are small tmpfs mounts (root only: skipped otherwise), filled right before the write under test.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import tests.support.probe_evaluator  # noqa: F401  (registers the "probe" evaluator)
from discovery.archive import ARCHIVE_FILE, Archive, list_runs
from discovery.config import RunConfig
from discovery.observer import SilentObserver
from discovery.records import CandidateStatus, RunStatus
from discovery.resolve import resolve_objective
from discovery.runner import resume_run, start_run
from discovery.seed_scores import SeedScoreCache
from discovery.ui.browser import Browser
from tests.support.archive_factory import build_run
from tests.support.commands import discover_main
from tests.support.fake_openai import MODEL, FakeOpenAI, Reply
from tests.support.live_runs import trainings
from tests.support.objective_sources import SKEWED
from tests.support.old_archives import downgrade_to_version_1
from tests.support.probe_evaluator import evaluations

REPO = Path(__file__).resolve().parents[1]
# One worker: the seeds are scored one after the other, so "what was committed before the disk filled"
# is the same on a machine of any core count.
PROBE_RUN = ["run", "--evaluator", "probe", "--seed-objectives", "dpo,slic", "--generations", "1", "--json",
             "--workers", "1"]  # fmt: skip


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """`tmpfs(name)` mounts a 4 MB tmpfs at `tmp_path/name`; all are unmounted afterwards."""
    mounted: list[Path] = []

    def mount(name: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(point)], capture_output=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs (root only): {done.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=True)


def fill(disk: Path) -> None:
    """Take every free byte of `disk`."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


def read_only(disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)


class Notices(SilentObserver):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def notice(self, message: str) -> None:
        self.lines.append(message)


PROGRESS_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")  # a run's lines without a terminal


def one_line(err: str) -> str:
    """The error: one line, after the timestamped progress lines a run prints without a terminal."""
    err = "".join(line for line in err.splitlines(keepends=True) if not PROGRESS_LINE.match(line))
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# -- full disks ------------------------------------------------------------------------------------


def test_a_run_created_on_a_full_disk_leaves_nothing(
    tmpfs: Callable[[str], Path],
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    disk = tmpfs("disk")
    monkeypatch.setenv("DISCOVER_CACHE", str(tmp_path / "cache"))
    (disk / "runs").mkdir()
    fill(disk)
    code, _, err = discover_main(capsys, *PROBE_RUN, "--runs-dir", str(disk / "runs"))
    assert code == 2 and "cannot create run" in one_line(err) and "disk is full" in err
    assert list((disk / "runs").iterdir()) == []  # no run, not even a hidden half-made one


def test_a_seed_score_cache_on_a_full_disk_is_a_warning_and_the_score_is_kept(
    tmpfs: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    disk = tmpfs("cache")
    monkeypatch.setenv("DISCOVER_CACHE", str(disk))
    store = SeedScoreCache.store

    def store_on_a_full_disk(self: SeedScoreCache, *args: object) -> None:
        fill(disk)  # only for this write: the probe evaluator logs into the same cache folder
        try:
            store(self, *args)
        finally:
            (disk / "filler").unlink()

    monkeypatch.setattr(SeedScoreCache, "store", store_on_a_full_disk)
    notices = Notices()
    config = RunConfig(evaluator="probe", proposer="builtin", seed_objectives=["dpo", "slic"], generations=0)
    outcome = start_run(tmp_path / "runs", config, notices)

    assert outcome.run.status is RunStatus.FINISHED
    assert [c.status for c in outcome.leaderboard] == [CandidateStatus.SCORED] * 2
    (warning,) = [line for line in notices.lines if "seed-score cache" in line]
    assert "disk is full" in warning and "goes on without it" in warning


@pytest.mark.parametrize(
    ("method", "when"),
    [
        ("update_candidate", lambda record: record.id == "g1-c1" and record.status is CandidateStatus.SCORED),
        ("add_exchange", lambda record: True),
    ],
    ids=["candidate update", "exchange"],
)
def test_a_full_disk_mid_run_stops_it_with_the_resume_command_and_loses_nothing(
    tmpfs: Callable[[str], Path],
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    method: str,
    when: Callable[[object], bool],
) -> None:
    disk = tmpfs("disk")
    runs = disk / "runs"
    monkeypatch.setenv("DISCOVER_CACHE", str(tmp_path / "cache"))
    write = getattr(Archive, method)

    def write_on_a_full_disk(self: Archive, record: object) -> object:
        if when(record):
            fill(disk)
        return write(self, record)

    monkeypatch.setattr(Archive, method, write_on_a_full_disk)
    with FakeOpenAI([Reply.proposal("skewed", SKEWED), Reply.proposal("skewed", SKEWED)]) as server:
        endpoint = ["--proposer", "openai", "--model", MODEL, "--base-url", server.base_url]
        code, out, err = discover_main(capsys, *PROBE_RUN, *endpoint, "--runs-dir", str(runs))
        run_id = json.loads(out)["run_id"]
        assert code == 1 and "disk is full" in one_line(err)
        assert err.rstrip().endswith(f"continue with: discover run --resume {run_id}")
        with Archive.open(runs, run_id) as archive:
            kept = {c.id: trainings(c) for c in archive.candidates(status=CandidateStatus.SCORED)}
            assert archive.status() is RunStatus.INTERRUPTED
        assert {"seed-dpo", "seed-slic"} <= set(kept)

        monkeypatch.setattr(Archive, method, write)
        (disk / "filler").unlink()
        outcome = resume_run(runs, run_id, None)
    assert outcome.run.status is RunStatus.FINISHED
    with Archive.open(runs, run_id) as archive:
        assert archive.candidate("g1-c1").status is CandidateStatus.SCORED
        # every training kept as it was (the intervals may narrow: the run's pooled noise grew)
        assert {cid: trainings(archive.candidate(cid)) for cid in kept} == kept


# -- read-only media --------------------------------------------------------------------------------


def kill_a_writer(runs: Path) -> None:
    """A run whose writer was killed: its last candidates are still in the WAL file beside it."""
    writer = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            import os
            from tests.support.archive_factory import build_run
            from discovery.archive import Archive
            from tests.support.archive_factory import proposal
            build_run({str(runs)!r}, "killed", proposals=2)
            archive = Archive.open({str(runs)!r}, "killed", writable=True)
            archive.add_candidate(proposal("killed", 7, 3, [], None))
            os._exit(0)
        """)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )  # fmt: skip
    assert writer.returncode == 0 and (runs / "killed" / f"{ARCHIVE_FILE}-wal").is_file()


def test_every_reading_command_works_on_read_only_media(
    tmpfs: Callable[[str], Path],
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    runs = tmpfs("media")
    build_run(runs, "done", proposals=3)
    build_run(runs, "old", proposals=2, minutes_ago=10)
    with Archive.open(runs, "old") as archive:  # as version 1 kept them: no island, cell or descriptors
        unplaced = {"island": None, "cell": None, "descriptors": None}
        old = {c.id: c.model_copy(update=unplaced) for c in archive.candidates()}
    downgrade_to_version_1(runs / "old" / ARCHIVE_FILE)
    kill_a_writer(runs)
    (runs / "empty").mkdir()
    (runs / "empty" / ARCHIVE_FILE).touch()
    read_only(runs)
    monkeypatch.setenv("DISCOVER_RUNS_DIR", str(runs))
    monkeypatch.chdir(tmp_path)

    code, out, _ = discover_main(capsys, "runs", "--json")
    listed = {run["id"]: run for run in json.loads(out)["runs"]}
    assert code == 0 and listed["done"]["status"] == "finished" and listed["old"]["status"] == "finished"
    assert "is an empty file" in listed["empty"]["error"]
    for command in (["archive", "done"], ["archive", "old", "--status", "all"], ["show", "done/g1-c0"]):
        code, _, err = discover_main(capsys, *command)
        assert code == 0, err
    code, out, _ = discover_main(capsys, "archive", "killed", "--status", "all", "--json")
    assert code == 0 and "g3-c7" in {c["id"] for c in json.loads(out)["candidates"]}  # read from the WAL
    code, _, err = discover_main(capsys, "export", "old/g1-c0", "-o", "exported.py")
    assert code == 0 and Path("exported.py").is_file()
    with Archive.open(runs, "old") as archive:
        assert {c.id: c for c in archive.candidates()} == old  # migrated in memory, identical
    assert resolve_objective("done/g2-c1", runs).origin == "archive:done/g2-c1"  # evaluate and retrain
    Browser(runs, "done").archive.close()

    code, _, err = discover_main(capsys, "run", "--resume", "done", "--json")
    assert code == 2 and "cannot write run done" in one_line(err) and "Read-only file system" in err


def test_reading_commands_never_write_an_archive_not_even_an_empty_or_old_one(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    build_run(runs, "old", proposals=2)
    downgrade_to_version_1(runs / "old" / ARCHIVE_FILE)
    (runs / "empty").mkdir()
    (runs / "empty" / ARCHIVE_FILE).touch()
    before = {path: path.read_bytes() for path in runs.rglob("*") if path.is_file()}
    monkeypatch.setenv("DISCOVER_RUNS_DIR", str(runs))

    for command in (["runs"], ["archive", "old"], ["show", "old/g1-c0"], ["export", "old/g1-c0", "-o", "-"]):
        code, _, err = discover_main(capsys, *command)
        assert code == 0, err
    for command in (["archive", "empty"], ["show", "empty/x"]):
        code, _, err = discover_main(capsys, *command)
        assert code == 2 and "is an empty file, not a run" in one_line(err)
    # a reader of a WAL database may make SQLite's shared-memory and WAL files; nothing else changes
    after = {path: path.read_bytes() for path in runs.rglob("*") if path.is_file()}
    assert {path: data for path, data in after.items() if not path.name.endswith(("-wal", "-shm"))} == before
    assert list((runs / "empty").iterdir()) == [runs / "empty" / ARCHIVE_FILE]


def test_a_task_cache_on_read_only_media_is_one_line(
    tmpfs: Callable[[str], Path],
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    cache = tmpfs("cache")
    read_only(cache)
    monkeypatch.setenv("DISCOVER_CACHE", str(cache))
    code, _, err = discover_main(
        capsys, "run", "--set", "preset=tiny", "--proposer", "builtin", "--seed-objectives", "dpo",
        "--generations", "0", "--runs-dir", str(tmp_path / "runs"), "--json",
    )  # fmt: skip
    assert (
        code == 2 and "cannot write the task's cache in" in one_line(err) and "Read-only file system" in err
    )
    assert "discover run --resume" in err
    (run,) = list_runs(tmp_path / "runs")
    assert run.status is RunStatus.INTERRUPTED
    code, _, err = discover_main(
        capsys, "evaluate", "dpo", "--set", "preset=tiny", "--runs-dir", str(tmp_path)
    )
    assert code == 2 and "Read-only file system" in one_line(err.lstrip())  # after the progress line's end


def test_a_resume_that_cannot_start_leaves_the_run_as_it_was(
    tmpfs: Callable[[str], Path],
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    build_run(runs, "done", proposals=2)  # a finished run of the sentiment task, 10 generations
    with Archive.open(runs, "done") as archive:
        before = archive.run()
    cache = tmpfs("cache")
    read_only(cache)  # the task cannot be built
    monkeypatch.setenv("DISCOVER_CACHE", str(cache))
    code, _, err = discover_main(
        capsys, "run", "--resume", "done", "--generations", "12", "--runs-dir", str(runs), "--json"
    )
    assert code == 2 and "cannot write the task's cache" in one_line(err)
    with Archive.open(runs, "done") as archive:
        assert archive.run() == before and archive.status() is RunStatus.FINISHED


def test_a_damaged_seed_score_cache_is_started_afresh(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "seed-scores.sqlite").write_bytes(b"not a database" * 100)
    monkeypatch.setenv("DISCOVER_CACHE", str(cache))
    config = RunConfig(evaluator="probe", proposer="builtin", seed_objectives=["dpo"], generations=0)
    notices = Notices()
    assert start_run(tmp_path / "runs", config, notices).run.status is RunStatus.FINISHED
    assert any("seed-score cache" in line and "started afresh" in line for line in notices.lines)
    start_run(tmp_path / "runs", config)
    # the baseline's three seeds were trained once: the rebuilt cache served the second run
    assert evaluations(cache) == [f"seed-dpo/seed{seed}-beta0.1" for seed in range(3)]
