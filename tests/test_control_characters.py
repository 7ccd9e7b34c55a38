"""No control character from stored text reaches a terminal, a log or a page.

A run whose candidate carries escape sequences in its name, thought, code, reason and LLM exchange
(a title change, an OSC 52 clipboard write, an OSC 8 link, a screen clear and a cursor move, their
8-bit C1 forms), C0 controls and a bidi override is read back through every path a person reads:
each read command's piped output (and a retrain's dry run), the progress lines and the log file,
the live display, evaluate's bar, the loss plot, the browser and the report. Each shows the
characters as escapes and carries none of them; the archive keeps them as they arrived. A lone
surrogate cannot be stored (the archive is UTF-8), so it is met where records are still in memory:
the progress lines, the live display, the bar and the plot.
"""

import io
import warnings
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot

import tests.support.probe_evaluator  # noqa: F401  (registers the "probe" evaluator `evaluate` uses here)
from discovery.archive import Archive
from discovery.execution.batch import Trainings
from discovery.execution.grid import GridKey
from discovery.execution.job import JobSettings
from discovery.objectives import load_objective
from discovery.records import CandidateStatus, ExchangeRecord, TrainingPoint, TransferRecord
from discovery.resolve import resolve_candidate
from discovery.sandbox import Curves
from discovery.ui.browser import Browser
from discovery.ui.curves import CurveSource, plot
from discovery.ui.evaluation import EvaluationBar
from discovery.ui.live import LiveRunDisplay
from discovery.ui.log_lines import LogLinesObserver, progress_logging
from discovery.ui.report.page import comparison_page, run_page
from tests.support.archive_factory import metrics
from tests.support.browser_pilot import detail_text, drive, screen_text
from tests.support.commands import discover_main
from tests.support.grid_archive import build_grid_run, held_out

HOSTILE = (
    "\x1b]0;owned\x07"  # the terminal's title
    "\x1b]52;c;ZXZpbA==\x07"  # the clipboard (OSC 52)
    "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\"  # a link (OSC 8)
    "\x1b[2J\x1b[1A"  # clear the screen, a line up
    "\x9b2J\x9d0;owned\x9c"  # the same as 8-bit C1 controls: CSI, OSC, ST
    "\u202eevil\u202c"  # a right-to-left override
    "\x00\x08\r\x7f"
)
NAME = "blend" + HOSTILE.replace("\x00", "")  # a NUL in a name fails its training (compile's file name)
SHOWN = ("\\x1b]52;c;ZXZpbA==\\x07", "\\x9b2J", "\\u202eevil")  # what a reader sees of it instead
SURROGATE = "\ud800"
RUN = "run-g"
HOSTILE_ID = "g13-c30"
BIDI = {chr(c) for c in (0x061C, 0x200E, 0x200F, *range(0x2028, 0x202F), *range(0x2066, 0x206A))}


def leaks(output: str) -> list[str]:
    """The characters of `output` a terminal acts on or that hide text: C0 controls other than
    newline and tab (in UTF-8, exactly the bytes below 0x20), DEL, the C1 controls, bidi controls and
    lone surrogates; each once, as U+XXXX."""
    found = {
        c
        for c in output
        if (ord(c) < 0x20 and c not in "\n\t")
        or 0x7F <= ord(c) <= 0x9F
        or c in BIDI
        or 0xD800 <= ord(c) <= 0xDFFF
    }
    return sorted(f"U+{ord(c):04X}" for c in found)


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A grid run (transferred to held-out variants) whose best candidate and proposer are hostile,
    its transfer complete on every variant of its task; the default runs folder."""
    runs_dir = tmp_path / "runs"
    build_grid_run(runs_dir, RUN)
    comment = HOSTILE.replace("\x00", "").replace("\r", "")  # a comment cannot hold them: no code
    code = load_objective("slic").source + f"\n# {comment}\n"
    with Archive.open(runs_dir, RUN, writable=True) as archive:
        exchange = archive.add_exchange(
            ExchangeRecord(
                run_id=RUN,
                generation=13,
                messages=[{"role": f"user{HOSTILE}", "content": f"Propose one. {HOSTILE}"}],
                response=f'{{"name": "{HOSTILE}"}}',
                error=HOSTILE,
                prompt_tokens=10,
                completion_tokens=5,
            )
        )
        dpo = archive.candidate("seed-dpo")
        hostile = dpo.model_copy(
            update={
                "id": HOSTILE_ID,
                "generation": 13,
                "name": NAME,
                "thought": HOSTILE,
                "code": code,
                "code_hash": "hostile",
                "is_seed": False,
                "parents": ["seed-dpo"],
                "reason": HOSTILE,
                "figures": metrics(NAME, 0.95),
                "exchange_id": exchange,
                "reported": None,
            }
        )
        archive.add_candidate(hostile)
        archive.update_run(archive.run().model_copy(update={"proposer": f"builtin{HOSTILE}"}))
        for variant in ("data", "model", "beta"):
            done = {(r.variant, r.candidate_id) for r in archive.transfers()}
            if (variant, dpo.id) not in done:
                archive.add_transfer(
                    TransferRecord(
                        run_id=RUN,
                        variant=variant,
                        candidate_id=dpo.id,
                        name="dpo",
                        result=held_out("dpo", 0.5),
                    )
                )
            failed = variant == "model"
            archive.add_transfer(
                TransferRecord(
                    run_id=RUN,
                    variant=variant,
                    candidate_id=HOSTILE_ID,
                    name=hostile.name,
                    result=None if failed else held_out(hostile.name, 0.7, held_out("dpo", 0.5)),
                    failure=HOSTILE if failed else None,
                )
            )
    monkeypatch.setenv("DISCOVER_RUNS_DIR", str(runs_dir))
    monkeypatch.setenv("COLUMNS", "600")  # every column, the escaped names whole
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)
    return runs_dir


@pytest.mark.parametrize(
    ("command", "shows_it"),
    [
        (("runs",), True),
        (("archive", RUN, "--status", "all"), True),
        (("show", HOSTILE_ID, "--run", RUN), True),
        (("transfer", RUN, "--top", "1"), True),
        (("objectives",), False),
        (("evaluate", f"{RUN}/{HOSTILE_ID}", "--evaluator", "probe"), True),
        (("export", HOSTILE_ID, "--run", RUN, "-o", "-"), True),
        (("retrain", f"{RUN}/{HOSTILE_ID}", "--dry-run"), True),
        (("report", RUN, "-o", "-"), True),
    ],
)
def test_piped_read_commands_carry_no_control_character(
    runs: Path, capsys: pytest.CaptureFixture, command: tuple[str, ...], shows_it: bool
) -> None:
    code, out, err = discover_main(capsys, *command)
    assert code == 0, err
    assert leaks(out) == [] and leaks(err) == []
    if shows_it:
        assert all(escape in out + err for escape in SHOWN), out + err
    if command[0] == "show":
        assert "d loss / d rho" in out  # the plot, drawn with the name in its legend, without colours
    with Archive.open(runs, RUN) as archive:
        assert archive.candidate(HOSTILE_ID).thought == HOSTILE  # the archive keeps what arrived


def test_a_name_in_the_loss_plot_s_legend_is_drawn_visible() -> None:
    """The plot is read back from ANSI text (`curves_panel`): a short name, which the legend holds
    whole, must not bring its own sequences into it."""
    rho = [step / 10 for step in range(-100, 101)]
    curves = Curves(beta=0.1, rho=rho, loss=[r * r for r in rho], gradient=[2 * r for r in rho])
    console = Console(file=io.StringIO(), width=120)
    console.print(Text.from_ansi(plot(f"\x9b2J\u202eab{SURROGATE}", curves, curves, width=100)))
    drawn = console.file.getvalue()
    assert leaks(drawn) == [] and "\\x9b2J\\u202eab\\ud800" in drawn


def test_progress_lines_and_the_log_file_carry_no_control_character(
    runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with Archive.open(runs, RUN) as archive:
        run, best = archive.run(), archive.candidate(HOSTILE_ID)
    best = best.model_copy(update={"name": best.name + SURROGATE})
    failed = best.model_copy(update={"id": "g14-c31", "status": CandidateStatus.FAILED, "figures": None})
    log = tmp_path / "progress.log"
    with progress_logging(lines_on_stderr=True, log_file=log), LogLinesObserver() as observer:
        observer.run_started(run, f"builtin{HOSTILE}{SURROGATE}")
        observer.candidate_phase(best, "training", 0.5)
        observer.candidate_finished(best, best)
        observer.candidate_finished(failed, best)
        observer.notice(f"a server said: {HOSTILE}{SURROGATE}")
    err = capsys.readouterr().err
    written = log.read_text(encoding="utf-8")
    assert "Logging error" not in err and err.count("\n") == written.count("\n") == 5
    for text in (err, written):
        assert leaks(text) == [] and all(escape in text for escape in SHOWN) and "\\ud800" in text


def test_the_live_display_carries_no_control_character(runs: Path) -> None:
    with Archive.open(runs, RUN) as archive:
        run, best = archive.run(), archive.candidate(HOSTILE_ID)
    best = best.model_copy(update={"name": best.name + SURROGATE})
    running = best.model_copy(update={"id": "g14-c31", "status": CandidateStatus.RUNNING})
    display = LiveRunDisplay()
    display.console = Console(file=io.StringIO(), width=160, record=True)
    with display:
        display.run_started(run, f"builtin{HOSTILE}")
        display.candidate_finished(best, best)
        display.candidate_phase(running, "training", 0.5)
        display.notice(f"a server said: {HOSTILE}{SURROGATE}")
    drawn = display.console.file.getvalue()
    assert "latest candidates" in drawn and "in flight: 1" in drawn
    assert leaks(drawn) == [] and all(escape in drawn for escape in SHOWN) and "\\ud800" in drawn


def test_evaluate_s_bar_on_a_terminal_names_the_objective_visibly() -> None:
    """On a terminal the bar's own sequences are there; the text it draws (`export_text`) has none."""
    console = Console(file=io.StringIO(), width=400, force_terminal=True, record=True)
    points = [TrainingPoint(seed=0, beta=0.1), TrainingPoint(seed=0, beta=1.0)]
    settings = JobSettings(evaluator="probe", cache_dir=Path("cache"))
    key = GridKey(task="probe", position=0, shown=NAME + SURROGATE)
    trainings = Trainings(key, settings, load_objective("dpo"), points, Path("work"))
    with EvaluationBar(console) as bar:
        bar.job(trainings, trainings.job(0), "training", 0.5)
        bar.bar.refresh()
    drawn = console.export_text()
    assert leaks(drawn) == [] and all(escape in drawn for escape in SHOWN) and "\\ud800" in drawn


def test_the_browser_carries_no_control_character(runs: Path) -> None:
    app = Browser(runs, RUN)

    async def steps(pilot: Pilot) -> None:
        await pilot.pause()
        assert app.rows[0].id == HOSTILE_ID  # the best, highlighted
        screen, detail = screen_text(app), detail_text(app)
        assert "Propose one." in detail and "d loss / d rho" in detail
        for text in (screen, detail):
            assert leaks(text) == [] and "\\x9b2J" in text
        await pilot.press("q")

    drive(app, steps)


def test_the_report_carries_no_control_character(runs: Path) -> None:
    """The page and its figures: matplotlib draws the names' escapes, never missing glyphs (its
    warning about one would print the raw character)."""
    with CurveSource() as curves, warnings.catch_warnings():
        warnings.simplefilter("error")
        with Archive.open(runs, RUN) as archive:
            page = run_page(archive, curves)
        compared = comparison_page(
            resolve_candidate(HOSTILE_ID, runs, RUN), resolve_candidate("dpo", runs, RUN), curves
        )
    for html in (page, compared):
        assert leaks(html) == [] and all(escape in html for escape in SHOWN)
    assert "failed: \\x1b]0;owned" in page  # the transfer's failure, in its table
