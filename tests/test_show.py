"""`discover runs`, `archive`, `show` and `export` on archives built through the Archive API."""

import json
from pathlib import Path

import pytest

from discovery.archive import Archive
from discovery.fitness import summarise
from discovery.objectives import Objective, load_objective
from discovery.records import SeedResult
from tests.support.archive_factory import build_run, run_record
from tests.support.commands import discover_main


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runs folder with one finished sample run, used as the default runs folder."""
    runs_dir = tmp_path / "runs"
    build_run(runs_dir, "run-a", proposals=12)
    monkeypatch.setenv("DISCOVER_RUNS_DIR", str(runs_dir))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    return runs_dir


def test_runs_lists_counts_best_and_status(runs: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = discover_main(capsys, "runs")
    assert code == 0
    assert "run-a" in out and "17/2/2/2" in out and "blend_8 0.884" in out and "finished" in out
    code, out, _ = discover_main(capsys, "runs", "--json")
    (run,) = json.loads(out)["runs"]
    assert (run["id"], run["status"], run["best_name"]) == ("run-a", "finished", "blend_8")


def test_archive_ranks_marks_seeds_and_keeps_paper_figures_apart(
    runs: Path, capsys: pytest.CaptureFixture
) -> None:
    code, out, _ = discover_main(capsys, "archive", "--top", "11")
    assert code == 0
    leaderboard, _, reported = out.partition("Reported in the paper (not measured here)")
    assert "blend_8" in leaderboard and "discopop (seed)" in leaderboard
    assert "0.884 [0.876, 0.892]" in leaderboard  # the mean and its interval
    assert "65.18" not in leaderboard  # DiscoPOP's AlpacaEval LC win rate is a paper figure
    assert "discopop" in reported and "65.18" in reported
    code, out, _ = discover_main(capsys, "archive", "run-a", "--status", "invalid", "--json")
    rows = json.loads(out)["candidates"]
    assert {r["status"] for r in rows} == {"invalid"} and all(r["rank"] is None for r in rows)
    code, out, _ = discover_main(capsys, "archive", "--json")
    ranked = json.loads(out)["candidates"]
    assert [r["rank"] for r in ranked] == list(range(1, 18))
    assert ranked[0]["fitness"] == pytest.approx(0.884)


def test_show_a_proposal_with_code_metrics_lineage_exchange_and_plot(
    runs: Path, capsys: pytest.CaptureFixture
) -> None:
    code, out, _ = discover_main(capsys, "show", "blend_2")
    assert code == 0
    for expected in (
        "blend_2",
        "generation 3 · island 0 · cell grows·unbounded·margin · scored",
        "fitness 0.796 [0.788, 0.804]",
        "measured, per training",
        "0.791",  # seed 0
        "torch.tanh(rho)",
        "parents: blend_1 [g2-c1], dpo [seed-dpo] 0.600",
        "children: blend_3 [g4-c3] duplicate",
        "LLM exchange",
        "Propose objective number 2.",
        "d loss / d rho",
        "rho (beta = 0.1)",  # the run's beta, from its evaluator settings
    ):
        assert expected in out, expected


def test_show_a_rejected_candidate_gives_its_reason_and_no_plot(
    runs: Path, capsys: pytest.CaptureFixture
) -> None:
    code, out, _ = discover_main(capsys, "show", "run-a/g2-c1")
    assert code == 0
    assert "invalid at the static stage: line 3: import of 'os' is not allowed" in out
    assert "no plot: the sandbox rejected this code" in out


def test_a_shipped_name_shows_the_runs_seed_with_measured_and_paper_figures(
    runs: Path, capsys: pytest.CaptureFixture
) -> None:
    code, out, _ = discover_main(capsys, "show", "lrml")  # an alias of discopop
    assert code == 0
    assert "discopop  [seed-discopop]  seed" in out and "fitness 0.640 [0.632, 0.648]" in out
    measured, _, reported = out.partition("Reported in the paper (not measured here)")
    assert "65.18" in reported and "65.18" not in measured
    code, out, _ = discover_main(capsys, "show", "discopop", "--json")
    shown = json.loads(out)
    assert shown["run"] == "run-a" and shown["candidate"]["is_seed"]
    assert shown["candidate"]["reported"]["figures"]["alpaca_lc_vs_sft"] == 65.18
    assert shown["fitness"] == pytest.approx(0.64)


def test_a_shipped_name_wins_over_a_proposal_of_the_same_name(
    runs: Path, capsys: pytest.CaptureFixture
) -> None:
    with Archive.open(runs, "run-a", writable=True) as archive:
        impostor = archive.candidate("g3-c2").model_copy(update={"name": "dpo"})
        archive.update_candidate(impostor)
    _, out, _ = discover_main(capsys, "show", "dpo", "--json")
    assert json.loads(out)["candidate"]["id"] == "seed-dpo"
    _, out, _ = discover_main(capsys, "show", "run-a/g3-c2", "--json")
    assert json.loads(out)["candidate"]["name"] == "dpo"


def test_shipped_objectives_and_files_need_no_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    nowhere = str(tmp_path / "nowhere")
    code, out, _ = discover_main(capsys, "show", "dpo", "--runs-dir", nowhere)
    assert code == 0 and "shipped objective" in out and "passes the static gate" in out and "63.34" in out
    mine = tmp_path / "mine.py"
    mine.write_text(load_objective("slic").source)
    code, out, _ = discover_main(capsys, "show", str(mine), "--runs-dir", nowhere)
    assert code == 0 and "mine" in out and "Reported in the paper" not in out


def test_export_writes_an_objective_file_evaluate_accepts(runs: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = discover_main(capsys, "export", "blend_2", "-o", "best.py")
    assert code == 0 and "wrote best.py" in err
    exported = load_objective("best.py")
    with Archive.open(runs, "run-a") as archive:
        original = archive.find_candidate("blend_2")
    assert exported.code_hash == Objective(name="x", source=original.code, origin="archive").code_hash
    assert exported.compile() is not None
    code, _, err = discover_main(capsys, "export", "blend_2", "-o", "best.py")
    assert code == 2 and "exists" in err
    code, _, _ = discover_main(capsys, "export", "discopop")
    assert code == 0 and load_objective("discopop.py").code_hash == load_objective("discopop").code_hash
    code, out, _ = discover_main(capsys, "export", "dpo", "-o", "-")
    assert code == 0 and "def loss(" in out


def test_export_names_the_beta_the_candidate_did_best_at(runs: Path, capsys: pytest.CaptureFixture) -> None:
    with Archive.open(runs, "run-a", writable=True) as archive:
        candidate = archive.find_candidate("blend_2")
        trainings = [SeedResult(seed=s, beta=0.3, fitness=0.7, seconds=1) for s in range(2)]
        archive.update_candidate(
            candidate.model_copy(update={"figures": summarise(candidate.name, trainings)})
        )
    code, out, _ = discover_main(capsys, "export", "blend_2", "-o", "-")
    assert code == 0 and out.splitlines()[1] == (
        "# It did best at beta 0.3 in its search (a larger model may want another beta)."
    )


def test_export_warns_when_the_code_fails_the_gate(runs: Path, capsys: pytest.CaptureFixture) -> None:
    with Archive.open(runs, "run-a", writable=True) as archive:
        rejected = archive.candidate("g2-c1")
        archive.update_candidate(rejected.model_copy(update={"code": "import os\n" + rejected.code}))
    code, _, err = discover_main(capsys, "export", "g2-c1")
    assert code == 0 and "fails the static gate" in err and Path("blend_1.py").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("runs", "--runs-dir", "missing"), "no runs folder at missing"),
        (("archive", "--runs-dir", "missing"), "no runs folder at missing"),
        (("archive", "nope"), "no run 'nope'"),
        (("archive", "--top", "0"), "--top must be at least 1"),
        (("archive", "--status", "great"), "unknown status 'great'"),
        (("show", "no_such_objective"), "candidate 'no_such_objective': not in run run-a"),
        (("show", "blend_2", "--run", "nope"), "no run 'nope'"),
        (("show", "run-a/nope"), "no candidate 'nope' in run run-a"),
        (("export", "no_such_objective"), "unknown objective or candidate 'no_such_objective'"),
    ],
)
def test_user_mistakes_get_one_line_and_exit_code_2(
    runs: Path, capsys: pytest.CaptureFixture, args: tuple[str, ...], message: str
) -> None:
    code, _, err = discover_main(capsys, *args)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_empty_run_and_corrupt_database_are_one_line_errors(
    runs: Path, capsys: pytest.CaptureFixture
) -> None:
    Archive.create(runs, run_record("empty")).close()
    code, _, err = discover_main(capsys, "archive", "empty")
    assert code == 2 and "run empty has no candidates yet" in err and err.count("\n") == 1
    (runs / "broken").mkdir()
    (runs / "broken" / "archive.sqlite").write_bytes(b"garbage" * 1000)
    code, _, err = discover_main(capsys, "archive", "broken")
    assert code == 2 and "file is not a database" in err and err.count("\n") == 1
    code, out, _ = discover_main(capsys, "runs")  # one bad archive does not hide the others
    assert code == 0 and "broken" in out and "run-a" in out
