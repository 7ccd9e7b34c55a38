"""`discover browse`: a full-screen view of the runs archive, usable over SSH.

Left: the runs, the run's fitness-by-generation chart, and its candidates in a sortable,
filterable table. Right: the highlighted candidate, with the same content as `discover show`.
On a small terminal (80x24) the candidate takes the whole screen when opened (Enter; Escape goes
back) and the chart gives its rows to the table. `r` writes the run's HTML report, anchored at the
highlighted candidate, in a thread, so the screen never waits for it.
Run ids, names, reasons and error messages come from outside: they reach the screen `visible` (the
table's cells through `shown`, the detail through `candidate_detail`).
The app polls the open archive's `data_version` (a counter SQLite bumps when another connection
commits), so a run still being written refreshes as candidates land, at no cost when idle.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from discovery.archive import Archive, ArchiveError, RunSummary, list_runs, summarize
from discovery.errors import UserError
from discovery.records import CandidateRecord, CandidateStatus
from discovery.resolve import view_in_archive
from discovery.transfer import Confirmation, run_result
from discovery.ui import shown
from discovery.ui.charts import fitness_chart
from discovery.ui.curves import CurveSource
from discovery.ui.figures import confirmation_of, ranked
from discovery.ui.views import (
    RUN_STYLES,
    STATUS_STYLES,
    candidate_detail,
    curves_panel,
    display_name,
    held_out_text,
    number,
    paired_text,
)
from discovery.untrusted import visible

SORTS = (
    "fitness",
    "generation",
    "name",
    "status",
)  # what `s` cycles through; headers also sort by reward, KL
FILTERS: tuple[CandidateStatus | None, ...] = (
    None,
    CandidateStatus.SCORED,
    CandidateStatus.INVALID,
    CandidateStatus.DUPLICATE,
    CandidateStatus.FAILED,
)
COLUMNS = (  # key, label, width (None: as wide as the widest value); `held out` as `_columns` says
    ("rank", "#", None),
    ("id", "id", None),
    ("name", "name", 18),
    ("generation", "gen", None),
    ("status", "status", None),
    ("fitness", "fitness", None),
    ("reward", "reward", None),
    ("kl", "KL", None),
    ("n", "n", None),
    ("versus", "vs base", None),
    ("held_out", "held out", None),
    ("parents", "parents", None),
)
RUNS_EVERY = 5  # polls between re-reads of the runs list (new runs appear without a key press)


def _sort_key(sort: str, ranks: dict[str, int]) -> Callable[[CandidateRecord], object]:
    """Fitness and reward: best first; KL: least first; unmeasured last; the others ascending, ties in
    the order added."""
    if sort == "fitness":
        return lambda c: ranks.get(c.id, len(ranks) + 1)
    if sort in ("reward", "kl"):
        sign = -1 if sort == "reward" else 1
        return lambda c: (_measure(c, sort) is None, sign * (_measure(c, sort) or 0.0))
    if sort == "generation":
        return lambda c: c.generation
    if sort == "name":
        return lambda c: c.name.lower()
    return lambda c: c.status.value


def _columns(view: "RunView") -> list[tuple[str, str, int | None]]:
    """The table's columns: `held out` only for a run that holds a held-out confirmation, so that a
    run without one keeps the room for the others."""
    return [column for column in COLUMNS if column[0] != "held_out" or view.verdicts]


def _measure(candidate: CandidateRecord, name: str) -> float | None:
    return getattr(candidate.figures, name) if candidate.figures else None


@dataclass(frozen=True)
class RunView:
    """What the browser shows of one run, read in one go: an archive that cannot be read is found
    before anything of it is drawn (and the run on screen stays)."""

    version: int  # the archive's `data_version` when it was read
    summary: RunSummary
    candidates: list[CandidateRecord]
    ranks: dict[str, int]  # candidate id -> rank on the leaderboard
    tokens: int  # LLM tokens, prompt and completion
    verdicts: dict[str, Confirmation]  # candidate id -> its held-out verdict, for those confirmed on
    result: str  # the run's one-line result (`run_result`)

    @classmethod
    def read(cls, archive: Archive) -> "RunView":
        version = archive.data_version()
        candidates = archive.candidates()
        ranks = {c.id: rank for rank, c in enumerate(ranked(candidates), start=1)}
        confirmation = confirmation_of(candidates, archive.transfers())
        verdicts = confirmation.confirmations() if confirmation else {}
        tokens = sum(archive.tokens_spent())
        return cls(version, summarize(archive), candidates, ranks, tokens, verdicts, run_result(confirmation))


class CandidateTable(DataTable):
    """The candidate table, with its Enter key named in the footer."""

    BINDINGS: ClassVar = [Binding("enter", "select_cursor", "Open")]


class Browser(App[None]):
    """Browse the runs under `runs_dir`, starting with `run_id` (default: the newest)."""

    TITLE = "discover browse"
    # Below 120 columns the detail pane is shown instead of the table, when opened; below 36 rows
    # the chart is hidden and the runs list shrinks to one line, so that the table keeps its rows.
    HORIZONTAL_BREAKPOINTS: ClassVar = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar = [(0, "-short"), (36, "-tall")]
    CSS = """
    #left { width: 3fr; min-width: 48; }
    #runs { height: auto; max-height: 7; border: round $primary-darken-2; }
    #summary { height: auto; padding: 0 1; }
    #chart { height: 11; }
    #search { display: none; }
    #search.shown { display: block; }
    #candidates { height: 1fr; }
    #detail { width: 2fr; border-left: tall $primary-darken-2; padding: 0 1; }
    Screen.-narrow #detail { display: none; }
    Screen.-narrow.-detail-open #left { display: none; }
    Screen.-narrow.-detail-open #detail { display: block; border-left: none; }
    Screen.-short #chart { display: none; }
    Screen.-short #runs { max-height: 3; }
    """
    BINDINGS: ClassVar = [
        Binding("q", "quit", "Quit"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("slash", "search", "Search"),
        Binding("escape", "back", "Back"),
        Binding("r", "report", "Report"),
        Binding("f5", "refresh_now", "Refresh", show=False),
    ]

    def __init__(self, runs_dir: Path, run_id: str | None = None, poll_seconds: float = 1.0) -> None:
        super().__init__()
        self.runs_dir = Path(runs_dir)
        # Fail early, before the screen takes over: a bad run id or a corrupt archive is one line.
        self.archive = Archive.open(self.runs_dir, run_id)
        try:
            self.view = RunView.read(self.archive)
        except ArchiveError:
            self.archive.close()
            raise
        self.poll_seconds = poll_seconds
        self.sort = SORTS[0]
        self.status_filter: CandidateStatus | None = None
        self.search = ""
        self.rows: list[CandidateRecord] = []  # what the table shows, in its order
        self._polls = 0
        self._shown_id: str | None = None
        self._drawn_widths: dict[str, int] = {}  # widget id -> width its plot was drawn for
        self._curves = CurveSource()  # the sandbox computes the plots; it starts on the first one

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="left"):
                yield OptionList(id="runs")
                yield Static(id="summary")
                yield Static(id="chart")
                yield Input(placeholder="name contains… (enter: keep, escape: clear)", id="search")
                yield CandidateTable(id="candidates", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="detail"):
                yield Static("highlight a candidate to see it here", id="detail-body")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#candidates", DataTable)
        self.query_one("#runs", OptionList).border_title = "runs"
        self._load_runs()
        self._draw_view()
        table.focus()
        self.set_interval(self.poll_seconds, self._poll)
        self.call_after_refresh(self._redraw_sized)

    def on_resize(self) -> None:
        self.call_after_refresh(self._redraw_sized)

    def _redraw_sized(self) -> None:
        """The plots are drawn for a width: draw them again when the layout gives another one."""
        if self.query_one("#chart").size.width != self._drawn_widths.get("chart"):
            self._draw_chart()
        if self.query_one("#detail").size.width != self._drawn_widths.get("detail"):
            shown = next((c for c in self.rows if c.id == self._shown_id), None)
            if shown is not None:
                self._show(shown)

    def on_unmount(self) -> None:
        self.archive.close()
        self._curves.close()

    # -- data -----------------------------------------------------------------------------------

    def _load_runs(self) -> None:
        runs = self.query_one("#runs", OptionList)
        current = self.archive.run_dir.name
        summaries = list_runs(self.runs_dir)
        if [o.id for o in runs.options] == [s.id for s in summaries]:
            return
        runs.clear_options()
        for summary in summaries:
            label = Text(visible(summary.id))
            if summary.status:
                label.append(f"  {summary.status.value}", style=RUN_STYLES.get(summary.status, ""))
            if summary.error:
                label.append("  unreadable", style="red")
            runs.add_option(Option(label, id=summary.id))
        runs.highlighted = next((i for i, s in enumerate(summaries) if s.id == current), None)

    def _reload(self) -> None:
        """Re-read the open run and redraw what depends on it, keeping the cursor on its candidate."""
        self.view = RunView.read(self.archive)
        self._draw_view()

    def _draw_view(self) -> None:
        self._draw_summary()
        self._draw_chart()
        self._fill_table()

    def _poll(self) -> None:
        self._polls += 1
        try:
            if self._polls % RUNS_EVERY == 0:
                self._load_runs()
            if self.archive.data_version() != self.view.version:
                self._reload()
        except ArchiveError as error:  # e.g. the run folder was deleted under us: say so, keep going
            self.notify(visible(str(error)), severity="error", timeout=10)

    def open_run(self, run_id: str) -> None:
        if run_id == self.archive.run_dir.name:
            return
        try:
            archive = Archive.open(self.runs_dir, run_id)
        except ArchiveError as error:
            self.notify(visible(str(error)), severity="error", timeout=10)
            return
        try:
            view = RunView.read(archive)
        except ArchiveError as error:
            archive.close()
            self.notify(visible(str(error)), severity="error", timeout=10)
            return
        self.archive.close()
        self.archive, self.view = archive, view
        self._shown_id = None
        self._draw_view()
        self.query_one("#candidates", DataTable).move_cursor(row=0)

    # -- drawing --------------------------------------------------------------------------------

    def _draw_summary(self) -> None:
        summary = self.view.summary
        counts = " ".join(f"{count} {status}" for status, count in sorted(summary.counts.items()))
        text = Text()
        text.append(visible(summary.id), style="bold")
        text.append(visible(f" · {summary.evaluator} · {summary.proposer} · "))
        text.append(summary.status.value, style=RUN_STYLES.get(summary.status, ""))
        text.append(f" · {summary.generations_done} generations · {self.view.tokens} LLM tokens")
        text.append(f"\n{counts or 'no candidates yet'}")
        confirmed = any(verdict.confirmed for verdict in self.view.verdicts.values())
        text.append(visible(f"\nresult: {self.view.result}"), style="green" if confirmed else "")
        status = self.status_filter.value if self.status_filter else "all"
        text.append(f"\nsort: {self.sort} · status: {status}", style="dim")
        if self.search:
            text.append(visible(f" · name contains '{self.search}'"), style="dim")
        self.query_one("#summary", Static).update(text)

    def _draw_chart(self) -> None:
        chart = self.query_one("#chart", Static)
        if not chart.size.width:
            return  # not laid out yet: `_redraw_sized` draws it once it is
        self._drawn_widths["chart"] = chart.size.width
        drawn = fitness_chart(self.view.candidates, chart.size.width, chart.size.height)
        chart.update(Text.from_ansi(drawn) if drawn else Text("no scored candidate yet", style="dim"))

    def _fill_table(self) -> None:
        table = self.query_one("#candidates", DataTable)
        keep = self._shown_id
        status = self.status_filter
        rows = [c for c in self.view.candidates if status is None or c.status is status]
        if self.search:
            rows = [c for c in rows if self.search.lower() in c.name.lower()]
        self.rows = sorted(rows, key=_sort_key(self.sort, self.view.ranks))
        columns = _columns(self.view)
        if [key.value for key in table.columns] == [key for key, _, _ in columns]:
            table.clear()
        else:  # another run, with a held-out confirmation or without
            table.clear(columns=True)
            for key, label, width in columns:
                table.add_column(label, key=key, width=width)
        for candidate in self.rows:
            cells = {
                "rank": str(self.view.ranks.get(candidate.id, "")),
                "id": candidate.id,
                "name": display_name(candidate),
                "generation": str(candidate.generation),
                "status": Text(candidate.status.value, style=STATUS_STYLES.get(candidate.status, "")),
                "fitness": number(candidate.fitness),
                "reward": number(_measure(candidate, "reward")),
                "kl": number(_measure(candidate, "kl")),
                "n": str(candidate.figures.n) if candidate.figures else "",
                "versus": paired_text(candidate),
                "held_out": held_out_text(self.view.verdicts.get(candidate.id)),
                "parents": ", ".join(candidate.parents),
            }
            table.add_row(*(shown(cells[key]) for key, _, _ in columns), key=candidate.id)
        ids = [c.id for c in self.rows]
        if keep in ids:
            table.move_cursor(row=ids.index(keep))
        elif not ids:
            self._show(None)

    def _show(self, candidate: CandidateRecord | None) -> None:
        body = self.query_one("#detail-body", Static)
        self._shown_id = candidate.id if candidate else None
        if candidate is None:
            body.update(Text("no candidate matches", style="dim"))
            return
        width = self.query_one("#detail").size.width
        if not width:
            return  # not laid out yet: `_redraw_sized` draws it once it is
        self._drawn_widths["detail"] = width
        try:
            view = view_in_archive(self.archive, candidate)
        except ArchiveError as error:  # e.g. a parent's row is damaged: say so where the detail goes
            body.update(Text(visible(str(error)), style="red"))
            return
        body.update(candidate_detail(view, curves_panel(view, self._curves, max(width - 4, 40), height=14)))

    def _row(self, index: int) -> CandidateRecord | None:
        """The candidate on row `index` of the table; None when there is none, as for the cursor of
        a table that a filter left empty (row -1)."""
        return self.rows[index] if 0 <= index < len(self.rows) else None

    # -- events and actions ---------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # A refill posts highlights for rows the cursor has already left: draw only where it is now.
        candidate = self._row(event.cursor_row)
        if event.cursor_row == event.data_table.cursor_row and candidate and candidate.id != self._shown_id:
            self._show(candidate)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = "fitness" if event.column_key.value == "rank" else event.column_key.value
        if key in (*SORTS, "reward", "kl"):
            self.sort = key
            self._draw_summary()
            self._fill_table()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.open_run(event.option.id)
            self.query_one("#candidates", DataTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.search = event.value.strip()
        self._draw_summary()
        self._fill_table()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#candidates", DataTable).focus()

    def action_open(self) -> None:
        """Show the highlighted candidate and move the focus to its detail, to scroll it (on a narrow
        screen the detail replaces the table until Escape)."""
        candidate = self._row(self.query_one("#candidates", DataTable).cursor_row)
        if candidate is not None:
            self.screen.add_class("-detail-open")
            if candidate.id != self._shown_id:
                self._show(candidate)
            self.call_after_refresh(self._redraw_sized)
            self.query_one("#detail", VerticalScroll).focus()

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus:
            search.value = ""
            search.remove_class("shown")
        self.screen.remove_class("-detail-open")
        self.query_one("#candidates", DataTable).focus()

    def action_report(self) -> None:
        """Write the run's report, anchored at the highlighted candidate, without holding the screen."""
        candidate = self._row(self.query_one("#candidates", DataTable).cursor_row)
        self.notify("writing the report…", timeout=3)
        self.run_worker(
            partial(self._write_report, self.archive.run_dir.name, candidate.id if candidate else None),
            thread=True,
            group="report",
        )

    def _write_report(self, run_id: str, candidate_id: str | None) -> None:
        """In a worker thread: build and write the report with an archive connection of its own
        (SQLite's belong to their thread), then say where it is, and open it where a browser can."""
        from discovery.ui.report.output import REPORT_FILE, open_in_browser, write_page
        from discovery.ui.report.page import run_page

        try:
            with Archive.open(self.runs_dir, run_id) as archive:
                path = archive.run_dir / REPORT_FILE
                write_page(run_page(archive, self._curves), path)
        except UserError as error:
            message = visible(f"no report: {error}")
            self.call_from_thread(self.notify, message, severity="error", timeout=10)
            return
        url = path.resolve().as_uri() + (f"#c-{quote(candidate_id)}" if candidate_id else "")
        opened = " (opened in your browser)" if open_in_browser(url) else ""
        self.call_from_thread(self.notify, f"report written: {url}{opened}", timeout=15)

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("shown")
        search.focus()

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._draw_summary()
        self._fill_table()

    def action_cycle_filter(self) -> None:
        self.status_filter = FILTERS[(FILTERS.index(self.status_filter) + 1) % len(FILTERS)]
        self._draw_summary()
        self._fill_table()
        if self.rows:
            self.query_one("#candidates", DataTable).move_cursor(row=0)

    def action_refresh_now(self) -> None:
        self._load_runs()
        self._reload()
