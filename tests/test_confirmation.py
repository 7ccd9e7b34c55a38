"""The held-out confirmation as every surface shows it: a proposal that truly beats DPO is confirmed,
one that won the search by a lucky seed is not, and `discover transfer`, `discover archive` and the
report say so, read from the archive; Holm's correction and the run's one-line result, on figures
chosen by hand."""

import contextlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from discovery.archive import Archive
from discovery.transfer import ALPHA, run_result
from discovery.ui.browser import Browser
from discovery.ui.curves import CurveSource
from discovery.ui.report.page import run_page
from tests.support.browser_pilot import drive, screen_text
from tests.support.commands import discover_cli_runner, discover_subprocess, finished_run_id
from tests.support.held_out_records import RUN_ID, held_out_summary
from tests.support.noisy_runs import proposal, run_loop

SHARP = "<b>sharp</b>_q0.8"  # truly better than DPO's 0.6; its name is markup, as an LLM may send
LUCKY = "lucky_q0.6"  # as good as DPO, 0.35 better on seed 0 alone


@pytest.fixture(scope="module")
def confirmed(tmp_path_factory) -> tuple[Path, dict]:
    """A search on one seed (seed 0) that the lucky proposal wins, then `discover transfer --json`
    (the run's defaults: the best 2 on 4 fresh seeds, on two held-out variants that keep every
    quality): the runs folder and the transfer's document."""
    folder = tmp_path_factory.mktemp("confirmed")
    run_loop(folder, [proposal(SHARP, "ipo"), proposal(LUCKY, "slic")], seeds=1, evaluator_name="noisy_kept")
    runs = folder / "runs"
    done = discover_cli_runner("transfer", "--train", "--json", "--runs-dir", str(runs))
    assert done.exit_code == 0, done.output
    return runs, json.loads(done.stdout)


@pytest.fixture
def runs(confirmed, tmp_path) -> Path:
    """A copy of the confirmed run's folder for one test."""
    shutil.copytree(confirmed[0], tmp_path / "runs")
    return tmp_path / "runs"


def ids(runs: Path) -> dict[str, str]:
    """The run's candidate ids by name."""
    with Archive.open(runs, None) as archive:
        return {c.name: c.id for c in archive.candidates()}


def test_the_truly_better_proposal_is_confirmed_and_the_lucky_winner_is_not(confirmed) -> None:
    runs, document = confirmed
    by_name = ids(runs)
    with Archive.open(runs, None) as archive:
        search = [c.name for c in archive.leaderboard()]
    assert search == [LUCKY, SHARP, "dpo"]  # seed 0's luck won the search
    sharp, lucky = document["confirmations"][by_name[SHARP]], document["confirmations"][by_name[LUCKY]]
    # 2 variants x 4 fresh seeds, all 0.2 better: p = 2/2**8, Holm over the 2 proposals doubles it
    assert sharp["verdict"] == "confirmed" and sharp["n"] == 8
    assert sharp["p_value"] == pytest.approx(2 / 256) and sharp["adjusted_p"] == pytest.approx(4 / 256)
    assert lucky["verdict"] == "not confirmed" and lucky["difference"] == pytest.approx(0.0)
    assert document["result"].startswith(f"CONFIRMED 1 of 2: {by_name[SHARP]} ({SHARP}) beat dpo")


def folder_state(folder: Path) -> dict[str, object]:
    """Every file under `folder` and its bytes, an archive as its rows (SQLite folds its write-ahead
    log into the file when the last reader closes, which changes bytes but not content)."""
    state: dict[str, object] = {}
    for path in folder.rglob("*"):
        if path.name.endswith(("-wal", "-shm")) or not path.is_file():
            continue
        if path.suffix == ".sqlite":
            with contextlib.closing(sqlite3.connect(path)) as db:
                state[str(path.relative_to(folder))] = list(db.iterdump())
        else:
            state[str(path.relative_to(folder))] = path.read_bytes()
    return state


def test_reading_the_confirmation_trains_and_writes_nothing_and_says_what_is_missing(tmp_path) -> None:
    """A search without its confirmation (transfer.top 0): `discover transfer` shows the proposals
    without held-out figures, names the trainings missing and the command that trains them, and
    leaves the run's folder as it was (no lock taken, no training)."""
    run_loop(tmp_path, [proposal(SHARP, "ipo")], seeds=1, evaluator_name="noisy_kept", transfer={"top": 0})
    runs = tmp_path / "runs"
    before = folder_state(runs)
    done = discover_cli_runner("transfer", "--top", "1", "--seeds", "2", "--runs-dir", str(runs))
    assert done.exit_code == 0, done.output
    assert folder_state(runs) == before
    assert "Held-out confirmation" in done.stdout
    # DPO and the best proposal, 2 seeds on each of the 2 held-out variants
    assert "8 training(s) of the confirmation are missing" in done.stderr
    assert "--top 1 --seeds 2 --train` trains them" in done.stderr

    trained = discover_cli_runner(
        "transfer", "--top", "1", "--seeds", "2", "--train", "--runs-dir", str(runs)
    )
    assert trained.exit_code == 0, trained.output
    assert trained.stderr.splitlines()[0] == "8 training(s) to run"
    assert "missing" not in trained.stderr
    # 4 held-out trainings, all 0.2 better, cannot give a p below 2/2**4: too few seeds to confirm
    assert "+0.200 vs the baseline over 4 held-out trainings, Holm p 0.12" in " ".join(trained.stdout.split())


def test_discover_transfer_shows_each_verdict_with_its_holm_p_value(runs) -> None:
    done = discover_cli_runner("transfer", "--runs-dir", str(runs))  # all trained: nothing to train
    assert done.exit_code == 0, done.output
    assert "Held-out confirmation" in done.stdout
    rows = {line.split("│")[2].strip(): line for line in done.stdout.splitlines() if line.count("│") > 3}
    assert "confirmed (p 0.016)" in rows[SHARP] and "not confirmed (p 1)" in rows[LUCKY]
    assert "baseline" in rows["dpo (seed)"]
    assert "Result: CONFIRMED 1 of 2" in done.stdout


def test_discover_archive_reads_the_verdicts_and_the_result_from_the_archive(runs) -> None:
    by_name = ids(runs)
    document = json.loads(discover_cli_runner("archive", "--json", "--runs-dir", str(runs)).stdout)
    held_out = {c["name"]: c["held_out"] for c in document["candidates"]}
    assert held_out == {LUCKY: "not confirmed", SHARP: "confirmed", "dpo": None}
    assert document["confirmed"] == [by_name[SHARP]]
    assert document["result"].startswith("CONFIRMED 1 of 2")
    text = discover_cli_runner("archive", "--runs-dir", str(runs)).stdout
    rows = {line.split("│")[3].strip(): line for line in text.splitlines() if line.count("│") > 3}
    assert "confirmed (p 0.016)" in rows[SHARP] and "not confirmed (p 1)" in rows[LUCKY]
    assert text.index("Result: CONFIRMED") > text.index(SHARP)  # under the leaderboard


def test_the_report_opens_with_the_result_and_shows_the_verdicts_escaped(runs) -> None:
    with Archive.open(runs, None) as archive, CurveSource() as curves:
        html = run_page(archive, curves)
    escaped = "&lt;b&gt;sharp&lt;/b&gt;_q0.8"
    result = html[html.index('class="result confirmed"') : html.index('id="figures"')]
    assert "Result: CONFIRMED 1 of 2: " in result and escaped in result
    transfer = html[html.index('id="transfer"') : html.index('id="candidates"')]
    assert "<h2>Held-out confirmation</h2>" in transfer
    assert '<td class="confirmed">confirmed (p 0.016)</td>' in transfer
    assert "<td>not confirmed (p 1)</td>" in transfer and "<td>baseline</td>" in transfer
    board = html[html.index('id="leaderboard"') : html.index('id="transfer"')]
    assert "<th>held out</th>" in board and '<td class="confirmed">confirmed (p 0.016)</td>' in board
    assert "<b>sharp</b>" not in html


def test_the_browser_shows_the_verdicts_and_the_result(runs) -> None:
    app = Browser(runs)

    async def steps(pilot: Pilot) -> None:
        table = app.query_one("#candidates", DataTable)
        header = [str(column.label) for column in table.columns.values()]
        rows = [
            dict(zip(header, map(str, table.get_row_at(row)), strict=True)) for row in range(table.row_count)
        ]
        verdicts = {row["name"]: row["held out"] for row in rows}
        assert verdicts[SHARP] == "confirmed (p 0.016)" and verdicts[LUCKY] == "not confirmed (p 1)"
        assert verdicts["dpo (seed)"] == ""
        assert "result: CONFIRMED 1 of 2" in screen_text(app)
        await pilot.press("q")

    drive(app, steps)


def test_a_task_without_held_out_variants_confirms_nothing_and_says_why(tmp_path) -> None:
    done = discover_subprocess(
        "run", "-e", "tests.support.paced_evaluator:paced", "--set", "seconds=0", "-g", "1", "-p", "1",
        "--seeds", "1", "--seed-objectives", "dpo", "--runs-dir", str(tmp_path), "--json",
    )  # fmt: skip
    finished_run_id(done)
    document = json.loads(done.stdout)
    assert document["result"].startswith("nothing confirmed: the run holds no held-out confirmation")
    assert document["confirmed"] == [] and all(c["held_out"] is None for c in document["leaderboard"])


def test_holm_multiplies_the_smallest_p_value_by_the_number_confirmed_together() -> None:
    found = held_out_summary({"sharp": [0.1] * 8, "flat": [0.1, -0.1] * 4})
    sharp, flat = found.confirmations().values()
    assert sharp.p_value == pytest.approx(2 / 256) and sharp.adjusted_p == pytest.approx(2 * 2 / 256)
    assert sharp.confirmed and not flat.confirmed and flat.verdict == "not confirmed"


def test_a_p_value_below_alpha_alone_is_not_confirmed_after_the_correction() -> None:
    alone = held_out_summary({"sharp": [0.1] * 6}).confirmations()["g1-c0"]
    assert alone.p_value == pytest.approx(2 / 64) and alone.p_value < ALPHA
    assert alone.confirmed  # one test: nothing to correct
    corrected = held_out_summary({"sharp": [0.1] * 6, "flat": [0.1, -0.1] * 3}).confirmations()["g1-c0"]
    assert corrected.p_value == pytest.approx(2 / 64) and corrected.adjusted_p == pytest.approx(4 / 64)
    assert corrected.verdict == "not confirmed"


def test_the_run_result_names_what_was_confirmed_nothing_or_what_is_missing() -> None:
    confirmed = run_result(held_out_summary({"sharp": [0.1] * 8, "flat": [0.1, -0.1] * 4}))
    assert confirmed.startswith("CONFIRMED 1 of 2: g1-c0 (sharp) beat dpo on the held-out variants")
    assert "Holm p 0.016" in confirmed and confirmed.endswith(f"discover retrain {RUN_ID}/g1-c0")
    nothing = run_result(held_out_summary({"flat": [0.1, -0.1] * 4, "worse": [-0.1] * 8}))
    assert nothing.startswith("nothing confirmed: the search's best, g1-c0 (flat), is ")
    assert nothing.endswith("nothing here is worth a retrain at scale")
    missing = run_result(held_out_summary({"sharp": [0.1] * 8, "flat": [0.1] * 8}, untrained={"flat"}))
    assert missing.startswith("CONFIRMED 1 of 2")  # what is complete and confirmed stays confirmed
    incomplete = run_result(
        held_out_summary({"flat": [0.1, -0.1] * 4, "sharp": [0.1] * 8}, untrained={"sharp"})
    )
    assert incomplete.startswith("not confirmed: 1 of 2 proposals lack a held-out variant")
    assert run_result(None).startswith("nothing confirmed: the run holds no held-out confirmation")
