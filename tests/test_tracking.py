"""Experiment tracking of a discovery run (`--report-to`): the figures, the best so far and the LLM
spend reach the trackers' own files; a missing tracker is refused at start; a failing one never stops
a run. The loop runs for real, on the millisecond probe evaluator, with a scripted LLM endpoint."""

import json
from pathlib import Path

import pytest

import tests.support.probe_evaluator  # noqa: F401  (registers the "probe" evaluator)
from discovery.archive import Archive, run_best
from discovery.config import RunConfig
from discovery.llm import EndpointSettings
from discovery.proposers.llm import OpenAIProposer
from discovery.records import RunStatus
from discovery.runner import resume_run, start_run
from discovery.ui.log_lines import progress_logging
from discovery.ui.tracking import TENSORBOARD_FOLDER, Tracker
from tests.support.commands import discover_cli_runner, discover_subprocess
from tests.support.fake_openai import MODEL, FakeOpenAI, Reply
from tests.support.objective_sources import EXPONENTIAL, MIXED, SMOOTH_HINGE

REPO = Path(__file__).resolve().parents[1]
PROPOSALS = [Reply.proposal("exponential", EXPONENTIAL), Reply.proposal("smooth_hinge", SMOOTH_HINGE)]


@pytest.fixture
def endpoint(monkeypatch):
    """Proposals from a scripted OpenAI-compatible server, 120 prompt + 80 completion tokens each."""
    with FakeOpenAI([*PROPOSALS, Reply.proposal("mixed", MIXED)]) as server:
        settings = EndpointSettings(model=MODEL, base_url=server.base_url, timeout=5.0, max_retries=0)
        monkeypatch.setattr("discovery.runner.make_proposer", lambda *args: (OpenAIProposer(settings), None))
        yield server


def tracked_run(runs_dir: Path, report_to: list[str], generations: int = 2):
    config = RunConfig(
        generations=generations,
        evaluator="probe",
        proposer="openai",
        seed_objectives=["dpo", "slic"],
        report_to=report_to,
        executor={"workers": 1},  # one at a time: each generation's figures arrive in order
    )
    with Tracker(runs_dir) as tracker:
        return start_run(runs_dir, config, tracker)


def expected(
    runs_dir: Path, run_id: str, tokens_per_proposal: int = 120
) -> dict[str, list[tuple[int, float]]]:
    """What the trackers should hold, by generation, from the archive: every scored candidate's
    fitness, the run's best when each finished (by the archive's rule, not the top fitness) and the
    prompt tokens spent by then (seeds first; one candidate at a time, so in generation order)."""
    with Archive.open(runs_dir, run_id) as archive:
        needs = archive.run().config.best_needs
        scored = sorted(
            (c for c in archive.candidates() if c.fitness is not None), key=lambda c: c.generation
        )
    best, tokens = [], []
    for done, candidate in enumerate(scored, 1):
        best.append((candidate.generation, run_best(scored[:done], needs).fitness))
        tokens.append((candidate.generation, float(tokens_per_proposal * candidate.generation)))
    return {
        "candidate/fitness": [(c.generation, c.fitness) for c in scored],
        "best/fitness": best,
        "llm/prompt_tokens": tokens,
    }


@pytest.mark.slow
def test_tensorboard_gets_each_candidate_the_best_so_far_and_the_llm_spend_and_resuming_keeps_it(
    tmp_path, endpoint
) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    outcome = tracked_run(tmp_path, ["tensorboard"])
    with Tracker(tmp_path) as tracker:  # the run's stored configuration still says tensorboard
        resumed = resume_run(tmp_path, outcome.run.id, generations=3, observer=tracker)
    assert resumed.run.status is RunStatus.FINISHED

    events = EventAccumulator(str(tmp_path / outcome.run.id / TENSORBOARD_FOLDER))
    events.Reload()
    logged = {
        key: [(e.step, pytest.approx(e.value, rel=1e-6)) for e in events.Scalars(key)]
        for key in ("candidate/fitness", "best/fitness", "llm/prompt_tokens")
    }
    assert logged == expected(tmp_path, outcome.run.id)
    assert [step for step, _ in logged["candidate/fitness"]] == [0, 0, 1, 2, 3]


def wandb_history(run_file: Path) -> list[dict[str, float]]:
    """The rows logged to an offline W&B run, read from its run file: a header, then records in
    32 KiB blocks (each: CRC, length, kind, bytes; a record may span blocks), each a `Record` message."""
    from wandb.proto.wandb_internal_pb2 import Record

    data, position, pending, rows = run_file.read_bytes(), 7, b"", []
    while position + 7 <= len(data):
        if (room := 32768 - position % 32768) < 7:  # a block's tail too short for a record: padding
            position += room
            continue
        length, kind = int.from_bytes(data[position + 4 : position + 6], "little"), data[position + 6]
        pending += data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a whole record, or the last piece of one
            record = Record.FromString(pending)
            if record.HasField("history"):
                items = record.history.item  # a key with a slash is kept as its parts
                rows.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in items})
            pending = b""
    return rows


def discover_run(runs_dir: Path, tracker: str, **env: str) -> str:
    """`discover run --report-to TRACKER` in its own process, as a user runs it; the run's id."""
    result = discover_subprocess(
        "run", "--evaluator", "tests.support.probe_evaluator:probe", "--seed-objectives", "dpo,slic",
        "--generations", "2", "--report-to", tracker, "--runs-dir", str(runs_dir), "--json",
        env={"PYTHONPATH": str(REPO), **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["run_id"]  # the trackers' own messages stay off stdout


def test_wandb_offline_keeps_the_run_in_the_run_folder(tmp_path) -> None:
    pytest.importorskip("wandb")
    home = str(tmp_path / "wandb-home")  # W&B's settings and caches, kept out of the user's home
    run_id = discover_run(
        tmp_path,
        "wandb",
        WANDB_MODE="offline",
        WANDB_CONFIG_DIR=home,
        WANDB_CACHE_DIR=home,
        WANDB_DATA_DIR=home,
    )
    (run_file,) = (tmp_path / run_id / "wandb").glob(f"offline-run-*/run-{run_id}.wandb")
    rows = wandb_history(run_file)
    for key, points in expected(tmp_path, run_id, tokens_per_proposal=0).items():
        assert [(row["generation"], row[key]) for row in rows] == pytest.approx(points, rel=1e-6)


def test_trackio_keeps_the_same_figures_in_its_local_database(tmp_path) -> None:
    pytest.importorskip("trackio")
    import sqlite3

    run_id = discover_run(tmp_path, "trackio", TRACKIO_DIR=str(tmp_path / "trackio"))
    (database,) = (tmp_path / "trackio").glob("*.db")
    with sqlite3.connect(database) as connection:
        rows = [json.loads(m) for (m,) in connection.execute("SELECT metrics FROM metrics ORDER BY id")]
    for key, points in expected(tmp_path, run_id, tokens_per_proposal=0).items():
        assert [(row["generation"], row[key]) for row in rows] == pytest.approx(points, rel=1e-6)


def test_a_tracker_that_fails_is_one_warning_and_the_run_goes_on(
    tmp_path, endpoint, monkeypatch, capsys
) -> None:
    def broken(*args) -> None:
        raise OSError("disk quota exceeded")

    monkeypatch.setattr("discovery.ui.tracking._TensorBoard.log", broken)
    with progress_logging(lines_on_stderr=False):  # a live display's terminal: warnings only
        outcome = tracked_run(tmp_path, ["tensorboard"])
    assert outcome.run.status is RunStatus.FINISHED and len(outcome.leaderboard) == 4
    warnings = capsys.readouterr().err.strip().splitlines()
    assert len(warnings) == 1, warnings
    assert warnings[0].endswith(
        "warning: --report-to tensorboard failed (disk quota exceeded); the run goes on without it"
    )


def test_a_tracker_that_is_not_installed_is_refused_before_the_run_exists(tmp_path, monkeypatch) -> None:
    real = __import__("importlib.util").util.find_spec
    monkeypatch.setattr(
        "importlib.util.find_spec", lambda name, *a: None if name == "wandb" else real(name, *a)
    )
    result = discover_cli_runner("run", "--evaluator", "probe", "--report-to", "tensorboard,wandb",
                                 "--runs-dir", str(tmp_path))  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == "error: --report-to wandb needs `pip install wandb`\n"
    assert not any(tmp_path.iterdir())


def test_an_unknown_tracker_is_one_line_naming_the_known_ones(tmp_path) -> None:
    result = discover_cli_runner("run", "--report-to", "mlflow", "--runs-dir", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "report_to.0: Input should be 'wandb', 'trackio' or 'tensorboard'" in result.stderr
