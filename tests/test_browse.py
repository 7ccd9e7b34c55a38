"""`discover browse` driven by Textual's headless pilot: what the screen shows as a user moves around."""

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from discovery.archive import Archive
from discovery.records import CandidateStatus
from discovery.ui.browser import Browser
from discovery.ui.report import output
from tests.support.archive_factory import build_run, proposal
from tests.support.browser_pilot import detail_text, drive, screen_text, table_names
from tests.support.commands import discover_main
from tests.support.grid_archive import build_grid_run


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    build_run(tmp_path, "older", proposals=3, minutes_ago=30)
    build_run(tmp_path, "run-a", proposals=12)
    return tmp_path


def test_opens_the_newest_run_best_first_and_shows_the_highlighted_candidate(runs: Path) -> None:
    app = Browser(runs)

    async def steps(pilot: Pilot) -> None:
        assert table_names(app)[:3] == ["blend_8", "blend_2", "blend_10"]
        assert "discopop (seed)" in table_names(app)
        screen = screen_text(app)
        assert "run-a" in screen and "older" in screen and "fitness by generation" in screen
        assert "0.884" in screen  # best fitness in the table
        header = next(line for line in screen.splitlines() if " id " in line and " gen " in line)
        assert all(f" {column} " in header + " " for column in ("reward", "KL", "parents"))
        assert "1.768" in screen and "g8-c7, seed-dpo" in screen  # blend_8's reward and parents
        await pilot.press("down")
        await pilot.pause()
        detail = detail_text(app)
        assert "blend_2" in detail and "torch.tanh(rho)" in detail
        assert "island 0 · cell grows·unbounded·margin" in detail  # where it lives in the population
        assert "fitness 0.796 [0.788, 0.804]" in detail  # the mean and its interval
        assert "children: blend_3 [g4-c3] duplicate" in detail and "d loss / d rho" in detail
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused.id == "detail"
        await pilot.press("escape", "q")

    drive(app, steps)


def test_sort_and_filter_by_status(runs: Path) -> None:
    app = Browser(runs, "run-a")

    async def steps(pilot: Pilot) -> None:
        await pilot.press("s")  # fitness -> generation
        await pilot.pause()
        generations = [c.generation for c in app.rows]
        assert generations == sorted(generations) and app.rows[-1].name == "blend_11"
        await pilot.press("s", "s", "s")  # back to fitness
        await pilot.pause()
        fitness = [c.fitness for c in app.rows if c.fitness is not None]
        assert fitness == sorted(fitness, reverse=True)
        await pilot.press("f", "f")  # all -> scored -> invalid
        await pilot.pause()
        assert table_names(app) == ["blend_1", "blend_7"]
        assert "status: invalid" in screen_text(app)
        assert "import of 'os' is not allowed" in detail_text(app)
        await pilot.press("f", "f", "f")  # duplicate, failed, all
        await pilot.pause()
        assert len(table_names(app)) == 12 + 11

    drive(app, steps)


def test_keys_on_a_table_that_a_status_filter_left_empty(tmp_path: Path) -> None:
    build_run(tmp_path, "scored-only", proposals=1)  # the seeds and one scored proposal: nothing invalid
    app = Browser(tmp_path)

    async def steps(pilot: Pilot) -> None:
        await pilot.press("f", "f")  # all -> scored -> invalid: no candidate left
        await pilot.pause()
        assert table_names(app) == [] and "no candidate matches" in detail_text(app)
        await pilot.press("s", "down", "up", "end", "home", "enter", "s")
        await pilot.pause()
        assert "no candidate matches" in detail_text(app) and app.focused.id == "candidates"
        await pilot.press("f", "f", "f")  # duplicate, failed, all
        await pilot.pause()
        assert len(table_names(app)) == 12

    drive(app, steps)


def test_search_by_name_and_switch_runs(runs: Path) -> None:
    app = Browser(runs, "run-a")

    async def steps(pilot: Pilot) -> None:
        await pilot.press("slash", *"blend_1", "enter")
        await pilot.pause()
        assert sorted(table_names(app)) == ["blend_1", "blend_10", "blend_11"]
        await pilot.press("slash", "escape")
        await pilot.pause()
        assert len(table_names(app)) == 23
        app.query_one("#runs").focus()
        await pilot.press("down", "enter")  # the runs list is newest first: "older" is second
        await pilot.pause()
        assert app.archive.run().id == "older"
        assert set(table_names(app)) >= {"blend_0", "blend_1", "blend_2", "dpo (seed)"}

    drive(app, steps)


def test_refreshes_as_another_writer_adds_candidates(runs: Path) -> None:
    app = Browser(runs, "run-a", poll_seconds=0.05)

    async def steps(pilot: Pilot) -> None:
        with Archive.open(runs, "run-a", writable=True) as writer:
            landed = proposal("run-a", 40, 13, ["g9-c8"], None)
            assert landed.status is CandidateStatus.SCORED
            writer.add_candidate(landed.model_copy(update={"name": "newcomer"}))
        deadline = time.monotonic() + 5
        while "newcomer" not in table_names(app) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert "newcomer" in table_names(app)

    drive(app, steps)


def test_browse_command_errors_before_the_screen_opens(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, _, err = discover_main(capsys, "browse", "--runs-dir", str(tmp_path / "missing"))
    assert code == 2 and "no runs folder" in err and err.count("\n") == 1
    code, _, err = discover_main(capsys, "browse", "--runs-dir", str(tmp_path))
    assert code == 2 and "no runs in" in err


def test_choosing_a_corrupt_run_keeps_the_open_one(runs: Path) -> None:
    (runs / "broken").mkdir()
    (runs / "broken" / "archive.sqlite").write_bytes(b"garbage" * 1000)
    app = Browser(runs, "run-a")

    async def steps(pilot: Pilot) -> None:
        app.query_one("#runs").focus()
        await pilot.press("end", "enter")  # unreadable runs are listed last
        await pilot.pause()
        assert app.archive.run().id == "run-a" and "blend_8" in table_names(app)
        assert "broken  unreadable" in screen_text(app)

    drive(app, steps)


def test_usable_at_80x24(runs: Path) -> None:
    app = Browser(runs, "run-a")

    async def steps(pilot: Pilot) -> None:
        await pilot.press("down")
        await pilot.pause()
        screen = screen_text(app)
        assert app.rows[1].id == "g3-c2" and "g3-c2" in screen and "blend_2" in screen
        footer = screen.splitlines()[-1]
        for key in ("Open", "Quit", "Sort", "Filter", "Search", "Back", "Report"):
            assert key in footer, footer
        assert (
            len([line for line in screen.splitlines() if "scored" in line]) >= 10
        )  # the table keeps its rows
        await pilot.press("enter")  # the candidate takes the whole screen
        await pilot.pause()
        screen = screen_text(app)
        assert "blend_2  [g3-c2]" in screen and "fitness 0.796" in screen and "blend_8" not in screen
        await pilot.press("escape")
        await pilot.pause()
        assert "blend_8" in screen_text(app) and app.focused.id == "candidates"

    drive(app, steps, size=(80, 24))


def test_the_table_shows_seeds_and_the_comparison_with_the_baseline_in_leaderboard_order(
    tmp_path: Path,
) -> None:
    build_grid_run(tmp_path, "run-g")
    app = Browser(tmp_path, "run-g")
    with Archive.open(tmp_path, "run-g") as archive:
        board = archive.leaderboard()

    async def steps(pilot: Pilot) -> None:
        table = app.query_one("#candidates", DataTable)
        assert [row.id for row in app.rows[: len(board)]] == [
            c.id for c in board
        ]  # by the interval's low end
        header = next(line for line in screen_text(app).splitlines() if " id " in line and " gen " in line)
        assert " n " in header and " vs base " in header
        top = table.get_row_at(0)
        paired = board[0].figures.paired
        assert top[8] == "3" and top[9] == f"{paired.difference:+.3f} p={paired.p_value:.2g}"
        await pilot.press("q")

    drive(app, steps)


def test_r_writes_the_report_anchored_at_the_highlighted_candidate(
    runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(output, "open_in_browser", lambda url: opened.append(url) or False)
    app = Browser(runs, "run-a")

    async def steps(pilot: Pilot) -> None:
        await pilot.press("down", "r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        report = runs / "run-a" / "report.html"
        assert opened == [report.resolve().as_uri() + "#c-g3-c2"]
        assert 'id="c-g3-c2"' in report.read_text()
        assert any(f"report written: {opened[0]}" in str(n.message) for n in app._notifications)

    drive(app, steps)
