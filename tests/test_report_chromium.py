"""The report in a real browser: a small real run (the built-in proposer, the tiny sentiment task,
two training seeds), its page and a comparison page opened in headless Chromium, which must load
them without a single error, show each figure at a real size, and run no script, not even one a
candidate's name smuggles in.

Chromium is Debian's package; `.ci/chromium` installs it, and CI sets DISCOVER_REQUIRE_CHROMIUM=1 so
that a missing browser fails this test instead of skipping it. DISCOVER_REPORT_SCREENSHOT=FILE keeps
the screenshot of the run's page (docs/report.png is one).
"""

import os
from pathlib import Path

import pytest

from discovery.archive import Archive
from discovery.records import CandidateStatus
from tests.support.archive_factory import proposal
from tests.support.chromium import REQUIRED_ENV, Chromium, find_chromium
from tests.support.commands import discover_subprocess

pytestmark = pytest.mark.slow  # a real run's report in headless Chromium

CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get(REQUIRED_ENV) != "1":
    pytest.skip("chromium is not installed (.ci/chromium installs it)", allow_module_level=True)

HOSTILE_NAME = "<script>alert(1)</script>"
MEASURE = """JSON.stringify({
  plots: [...document.querySelectorAll('figure.plot')].map(f => {
    const svg = f.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    return [f.id.replace('plot-', ''), Math.round(box.width), Math.round(box.height)];
  }),
  scripts: document.scripts.length,
  text: document.body.innerText,
})"""
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real run with a hostile candidate added, its report, and a comparison of two candidates."""
    folder = tmp_path_factory.mktemp("report-run")
    runs = folder / "runs"
    done = discover_subprocess(
        "run", "--generations", "2", "--population", "2", "--seeds", "2", "--set", "preset=tiny",
        "--seed-objectives", "dpo,ipo,discopop", "--proposer", "builtin", "--runs-dir", str(runs),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Archive.open(runs, writable=True) as archive:
        run = archive.run().id
        archive.add_candidate(
            proposal(run, 1, 3, ["g1-c1"], None).model_copy(
                update={"id": "g3-c9", "name": HOSTILE_NAME, "thought": '<img src=x onerror="alert(2)">'}
            )
        )
        assert archive.candidate("g3-c9").status is CandidateStatus.INVALID
    report, comparison = folder / "report.html", folder / "compare.html"
    done = discover_subprocess("report", "--runs-dir", str(runs), "-o", str(report))
    assert done.returncode == 0, done.stderr
    done = discover_subprocess(
        "report", f"{run}/g1-c1", f"{run}/seed-dpo", "--runs-dir", str(runs), "-o", str(comparison)
    )
    assert done.returncode == 0, done.stderr
    return {"report": report, "comparison": comparison}


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM, f"{REQUIRED_ENV}=1 but chromium is not installed (run .ci/chromium)"
    with Chromium(CHROMIUM, width=1200, height=1700) as chromium:
        yield chromium


def test_the_run_report_loads_without_errors_and_shows_every_figure(browser, pages) -> None:
    loaded = browser.load(pages["report"], MEASURE, scale=0.75)
    assert loaded.problems == []
    plots = {name: (width, height) for name, width, height in loaded.measured_json["plots"]}
    # tiny trains a beta grid; its sandbox places every candidate on the behaviour map
    assert set(plots) == {"fitness", "plane", "betas", "lineage", "cells", "curves"}
    assert all(width > 300 and height > 150 for width, height in plots.values()), plots
    assert loaded.measured_json["scripts"] == 0
    text = loaded.measured_json["text"]
    assert HOSTILE_NAME in text and '<img src=x onerror="alert(2)">' in text  # shown as text
    assert "Leaderboard" in text and "modulated" in text and "torch" in text
    assert loaded.screenshot.startswith(PNG) and len(loaded.screenshot) > 20_000
    keep = os.environ.get("DISCOVER_REPORT_SCREENSHOT")
    if keep:
        Path(keep).write_bytes(loaded.screenshot)


def test_the_comparison_page_loads_without_errors_and_shows_its_figures(browser, pages) -> None:
    loaded = browser.load(pages["comparison"], MEASURE)
    assert loaded.problems == []
    plots = {name: (width, height) for name, width, height in loaded.measured_json["plots"]}
    assert set(plots) == {"seeds", "plane", "betas", "curves"}
    assert all(width > 200 and height > 150 for width, height in plots.values()), plots
    text = loaded.measured_json["text"]
    assert "vs" in text and "Code, side by side" in text and "dpo (reference)" in text
