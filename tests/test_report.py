"""`discover report`: what a run's page and a comparison page show, how untrusted text is kept as
text, and how the command writes (or refuses to write) its file. The page in a real browser is
tested in `test_report_chromium.py`."""

import itertools
import re
import subprocess
import sys
import webbrowser
from html.parser import HTMLParser
from pathlib import Path

import pytest

from discovery.archive import Archive
from discovery.records import CandidateStatus, EvaluationResult
from discovery.ui.curves import CurveSource
from discovery.ui.figures import Scored, best_so_far, confirmation_of, frontier, lineage, ranked, transfers
from discovery.ui.report import output
from discovery.ui.report.page import run_page
from discovery.ui.views import paired_text
from tests.support.archive_factory import build_run, metrics, proposal, seed_candidates
from tests.support.commands import discover_main
from tests.support.grid_archive import BETAS, build_grid_run

PLOTS = ("fitness", "plane", "lineage", "cells", "curves")  # drawn for any run; "betas" needs a beta grid
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_THOUGHT = '<img src=x onerror="alert(2)"> & </blockquote><b>bold</b>'


class Page(HTMLParser):
    """The parts of a page the tests read: every element's tag and attributes, text by element id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def urls(self) -> list[str]:
        """Every address an element would load or link to."""
        return [
            value or ""
            for _, attrs in self.elements
            for key, value in attrs.items()
            if key in {"src", "href"}
        ]


def section(html: str, element_id: str) -> str:
    """The markup of the element with `element_id`, up to the next element of the same kind."""
    start = html.index(f'id="{element_id}"')
    tag = html[html.rindex("<", 0, start) + 1 : start].split()[0]
    end = html.find(f"<{tag} ", start)
    return html[start : end if end != -1 else len(html)]


@pytest.fixture(scope="module")
def curves():
    with CurveSource() as source:
        yield source


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    build_run(tmp_path, "run-a", proposals=12)
    return tmp_path


@pytest.fixture
def grid_run(tmp_path: Path) -> Path:
    build_grid_run(tmp_path, "run-g")
    return tmp_path


# -- the data behind the figures ------------------------------------------------------------------


def point(pid: str, reward: float | None, kl: float, generation: int = 1) -> Scored:
    return Scored(pid, pid, generation, False, 0.5, None, 1, None, reward, kl, 0.0, None, (), ())


def test_best_so_far_is_a_running_maximum_over_every_generation_in_order() -> None:
    run = [*seed_candidates("r"), *(proposal("r", i, i + 1, [], None) for i in range(12))]
    line = best_so_far(run, last_generation=15)
    assert [g for g, _ in line] == list(range(16))  # generations without a scored candidate too
    assert all(a <= b for (_, a), (_, b) in itertools.pairwise(line))
    best = {c.generation: c.fitness for c in run if c.status is CandidateStatus.SCORED}
    for generation, value in line:
        assert value == max(f for g, f in best.items() if g <= generation)
    assert best_so_far([c for c in run if c.status is not CandidateStatus.SCORED]) == []


def test_the_frontier_keeps_what_nothing_beats_on_reward_and_kl_ordered_by_kl() -> None:
    points = [
        point("low-kl", 0.4, 1.0),
        point("best", 0.9, 3.0),
        point("dominated", 0.5, 3.5),
        point("middle", 0.6, 2.0),
        point("same-kl-less-reward", 0.3, 1.0),
        point("unmeasured", None, 0.5),
    ]
    assert [p.id for p in frontier(points)] == ["low-kl", "middle", "best"]


def test_lineage_links_parents_the_run_holds_and_ranking_follows_the_archive() -> None:
    run = [*seed_candidates("r"), *(proposal("r", i, i + 1, [], None) for i in range(4))]
    run[-1] = run[-1].model_copy(update={"parents": ["g3-c2", "gone", "g3-c2"]})
    tree = lineage(run)
    assert ("g3-c2", "g4-c3") in tree.edges and not any(a == "gone" for a, _ in tree.edges)
    assert len([e for e in tree.edges if e == ("g3-c2", "g4-c3")]) == 1
    unscored = next(n for n in tree.nodes if n.id == "g2-c1")
    assert unscored.status is CandidateStatus.INVALID and unscored.fitness is None
    board = ranked(run)
    assert [c.fitness for c in board] == sorted((c.fitness for c in board), reverse=True)


def test_ranking_follows_the_lower_end_of_the_interval_as_the_archive_does(grid_run: Path) -> None:
    steady = EvaluationResult(
        objective="steady",
        fitness=0.75,
        fitness_se=0.01,
        fitness_low=0.73,
        fitness_high=0.77,
        seconds=1,
        seeds=[],
    )
    lucky = steady.model_copy(
        update={"objective": "lucky", "fitness": 0.8, "fitness_low": 0.6, "fitness_high": 1.0}
    )
    run = [
        c.model_copy(update={"figures": m})
        for c, m in zip(seed_candidates("r")[:2], (lucky, steady), strict=True)
    ]
    assert [c.figures.objective for c in ranked(run)] == ["steady", "lucky"]
    with Archive.open(grid_run, "run-g") as archive:
        assert [c.id for c in ranked(archive.candidates())] == [c.id for c in archive.leaderboard()]


def test_transfer_rows_put_the_baseline_first_and_rank_correlate_each_variant(grid_run: Path) -> None:
    with Archive.open(grid_run, "run-g") as archive:
        found = transfers(confirmation_of(archive.candidates(), archive.transfers()))
        board = [c.id for c in archive.leaderboard() if not c.is_seed]
        assert confirmation_of(archive.candidates(), []) is None and transfers(None) is None
    assert found is not None and found.variants == ["data", "model"]
    assert [row.candidate.id for row in found.rows] == ["seed-dpo", *board]
    assert found.correlations["data"] == pytest.approx(1.0)  # the search's order, kept
    failed = [row for row in found.rows if row.cells[1].failure]
    assert len(failed) == 1 and failed[0].cells[1].failure == "CUDA out of memory"
    for row in found.rows[1:]:  # beats DPO on `data` when 0.05 below its search figure is above 0.55
        assert row.survived == (row.candidate.fitness - 0.05 > 0.55), row.candidate.id
    assert {row.survived for row in found.rows[1:]} == {0, 1}


# -- the run's page -------------------------------------------------------------------------------


def test_a_runs_page_has_every_figure_the_leaderboard_code_diffs_and_the_run(runs: Path, curves) -> None:
    with Archive.open(runs, "run-a") as archive:
        html = run_page(archive, curves)
    for plot in PLOTS:
        assert "<svg" in section(html, f"plot-{plot}"), plot
    plane = section(html, "plot-plane")
    for seed in ("dpo", "ipo", "discopop"):  # the shipped seeds are named on the reward-KL plane
        assert re.search(rf">{seed}</text>", plane), seed
    assert "frontier" in plane
    assert "best so far" in section(html, "plot-fitness")
    cells = section(html, "plot-cells")  # the best fitness per behaviour cell, empty cells shown
    assert ">0.884</text>" in cells and cells.count(">empty</text>") == 34
    assert "falls" in cells and "unbounded" in cells and "sides: mixed" in cells
    assert "trained at a single beta" in section(html, "plot-betas")
    curves_plot = section(html, "plot-curves")
    assert "#1 blend_8" in curves_plot and "dpo (reference)" in curves_plot
    board = section(html, "leaderboard")
    assert board.index("blend_8") < board.index("blend_2") < board.index("blend_10")
    assert (
        "0.884 [0.876, 0.892]" in board and "Not on the leaderboard" in board and "same fingerprint" in board
    )
    entry = section(html, "c-g3-c2")  # blend_2, derived from blend_1 and the DPO seed
    assert 'class="code"' in entry and "diff against parent dpo [seed-dpo]" in entry
    assert "diff against parent blend_1 [g2-c1]" in entry and "the same code as this parent" not in entry
    assert 'href="#c-g4-c3"' in entry  # its child
    settings = section(html, "run")
    assert "generations: 10" in settings and "discover</th><td>0.1.0" in settings
    assert "1200 prompt + 480 completion" in settings  # twelve LLM exchanges


def test_a_grid_run_shows_intervals_best_beta_the_comparison_with_dpo_and_the_transfer(
    grid_run: Path, curves
) -> None:
    with Archive.open(grid_run, "run-g") as archive:
        html = run_page(archive, curves)
        best = archive.leaderboard()[0]
    betas = section(html, "plot-betas")
    assert "<svg" in betas and f"#1 {best.name}" in betas and "dpo (reference)" in betas
    assert "dpo across betas" in section(html, "plot-plane")
    board = section(html, "leaderboard")
    assert "vs dpo (p)" in board and paired_text(best) in board and "p=" in paired_text(best)
    assert "11%" in board  # one collapsed training in nine
    entry = section(html, f"c-{best.id}")
    per_beta = entry[entry.index("per-beta") :]
    assert per_beta.count("<tr") == 1 + len(BETAS)  # a header, then a row per beta
    assert f'class="best"><td>{best.figures.best_beta:g}</td>' in per_beta
    assert "paired seeds, p = " in entry
    transfer = section(html, "transfer")
    assert "data +1.00" in transfer and "failed: CUDA out of memory" in transfer
    assert "model -0.87" in transfer  # dpo ahead of two tied proposals there, behind them in the search


def test_the_page_loads_nothing_and_runs_nothing(runs: Path, curves) -> None:
    with Archive.open(runs, "run-a") as archive:
        html = run_page(archive, curves)
    page = Page(html)
    assert not [url for url in page.urls() if not url.startswith("#")]
    assert not any(tag in {"script", "iframe", "object", "embed", "link"} for tag, _ in page.elements)
    policy = next(a["content"] for tag, a in page.elements if tag == "meta" and a.get("http-equiv"))
    assert "default-src 'none'" in policy and "script-src" not in policy


def test_untrusted_text_from_the_archive_stays_text(runs: Path, curves) -> None:
    with Archive.open(runs, "run-a", writable=True) as archive:
        hostile = proposal("run-a", 30, 13, ["g9-c8"], None).model_copy(
            update={
                "id": "g13-c30",
                "name": HOSTILE_NAME,
                "thought": HOSTILE_THOUGHT,
                "code": proposal("run-a", 0, 1, [], None).code
                + "\n# </pre></div><script>alert(3)</script>\n",
                "figures": metrics(HOSTILE_NAME, 0.95),
            }
        )
        archive.add_candidate(hostile)
        html = run_page(archive, curves)
    page = Page(html)
    assert not any(tag in {"script", "img", "b"} for tag, _ in page.elements)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section(html, "leaderboard")
    assert "&lt;img src=x onerror=" in section(html, "c-g13-c30")
    assert "alert(3)" in section(html, "c-g13-c30")  # shown as code, escaped
    # Its name is the best candidate's label on the curves and in the lineage, as SVG text.
    assert "#1 &lt;script&gt;alert(1)&lt;/script&gt;" in section(html, "plot-curves")


# -- the command ----------------------------------------------------------------------------------


def test_report_writes_into_the_run_folder_and_replaces_only_its_own_reports(
    runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = discover_main(capsys, "report", "--runs-dir", str(runs))
    written = runs / "run-a" / "report.html"
    assert code == 0 and str(written) in err and written.read_text().count("<svg") >= len(PLOTS)
    written.write_text(written.read_text().replace("Leaderboard", "Old board"))
    code, _, _ = discover_main(capsys, "report", "run", "--runs-dir", str(runs))  # a prefix of run-a
    assert code == 0 and "Old board" not in written.read_text()  # an earlier report is replaced
    precious = tmp_path / "notes.html"
    precious.write_text("my notes")
    code, _, err = discover_main(capsys, "report", "--runs-dir", str(runs), "-o", str(precious))
    assert code == 2 and "is not a report discover wrote" in err and err.count("\n") == 1
    assert precious.read_text() == "my notes"
    code, out, _ = discover_main(capsys, "report", "--runs-dir", str(runs), "-o", "-")
    assert code == 0 and out.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["a", "b", "c"], "give one run, or two candidates to compare (got 3 arguments)"),
        (["nope"], "no run 'nope' in"),
        (["run-a/g3-c2", "run-a/no-such"], "no candidate 'no-such' in run run-a"),
        ([], "is a folder"),
        ([""], "an empty run id names no run"),
    ],
)
def test_mistakes_are_one_line(
    runs: Path, capsys: pytest.CaptureFixture, arguments: list[str], message: str
) -> None:
    output = ["-o", str(runs)] if not arguments else []
    code, _, err = discover_main(capsys, "report", *arguments, "--runs-dir", str(runs), *output)
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_two_candidates_side_by_side(
    runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = discover_main(capsys, "report", "run-a/g9-c8", "dpo", "--runs-dir", str(runs))
    written = tmp_path / "compare-g9-c8-seed-dpo.html"
    assert code == 0 and written.name in err
    html = written.read_text()
    assert "blend_8 (run-a/g9-c8)" in html and "dpo (run-a/seed-dpo)" in html
    for plot in ("seeds", "plane", "curves"):
        assert "<svg" in section(html, f"plot-{plot}"), plot
    diff = section(html, "diff")
    assert 'class="diff"' in diff and "diff_add" in diff and "diff_sub" in diff
    assert "0.884 [0.876, 0.892]" in html and "0.600 [0.592, 0.608]" in html
    assert not [url for url in Page(html).urls() if not url.startswith("#")]


def test_other_commands_do_not_import_the_report_libraries() -> None:
    probe = (
        "import sys; from discovery.cli import load_commands; load_commands(); "
        "print(sorted(m for m in ('matplotlib', 'jinja2', 'pygments') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_reports_open_only_in_a_browser_that_leaves_the_terminal_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[str] = []
    for kind in (webbrowser.GenericBrowser, webbrowser.BackgroundBrowser):
        monkeypatch.setattr(kind, "open", lambda self, url, *args, **kwargs: opened.append(url) or True)
    monkeypatch.setattr(webbrowser, "get", lambda: webbrowser.GenericBrowser("lynx"))  # waits for its user
    assert not output.open_in_browser("file:///report.html") and opened == []
    monkeypatch.setattr(webbrowser, "get", lambda: webbrowser.BackgroundBrowser("firefox"))
    assert output.open_in_browser("file:///report.html") and opened == ["file:///report.html"]

    def nothing() -> None:
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", nothing)
    assert not output.open_in_browser("file:///report.html")
