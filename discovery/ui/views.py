"""Rich renderings of runs, leaderboards and one candidate: printed by the commands, embedded by the browser.

Names, thoughts, code, reasons and LLM text come from outside: each passes through `visible` (or
`shown`, for a table cell) where it becomes part of a renderable, so no control character from them
reaches a terminal.

Measured figures (this project's evaluator) and reported figures (the paper's, for shipped
objectives) never share a column: a reader must not mistake one for the other.
"""

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from discovery.archive import RunSummary
from discovery.objectives.gate import check_source
from discovery.records import CandidateRecord, CandidateStatus, EvaluationResult, RunStatus
from discovery.resolve import CandidateView
from discovery.sandbox import CurvesUnavailable
from discovery.transfer import Confirmation, TransferSummary
from discovery.ui.curves import CurveSource, plot
from discovery.ui.fitted import Column, FittedTable
from discovery.untrusted import visible

STATUS_STYLES = {
    CandidateStatus.SCORED: "green",
    CandidateStatus.INVALID: "red",
    CandidateStatus.DUPLICATE: "yellow",
    CandidateStatus.FAILED: "magenta",
    CandidateStatus.PROPOSED: "cyan",
    CandidateStatus.VALIDATED: "cyan",
}
RUN_STYLES = {RunStatus.RUNNING: "cyan", RunStatus.FINISHED: "green", RunStatus.INTERRUPTED: "yellow"}
REPORTED_LABELS = {
    "mt_bench": "MT-Bench",
    "alpaca_lc_vs_sft": "AlpacaEval LC vs SFT",
    "alpaca_wr_vs_sft": "AlpacaEval WR vs SFT",
    "alpaca_lc_vs_gpt4": "AlpacaEval LC vs GPT-4",
    "alpaca_wr_vs_gpt4": "AlpacaEval WR vs GPT-4",
}
COUNTED = (CandidateStatus.SCORED, CandidateStatus.INVALID, CandidateStatus.DUPLICATE, CandidateStatus.FAILED)
EXCHANGE_LINES = 30  # per message, so a long archive prompt does not bury the reply


def number(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def fitness_text(candidate: CandidateRecord) -> str:
    """The candidate's `result_fitness`, or empty when unscored."""
    return "" if candidate.figures is None else result_fitness(candidate.figures)


def result_fitness(result: EvaluationResult) -> str:
    """`0.812 [0.790, 0.834]` (the mean at the best beta and its interval; the mean alone when no
    interval is known), then what went wrong when the figures say so (`EvaluationResult.degenerate`):
    a low number alone reads as a weak idea."""
    if result.fitness_low is None or result.fitness_high is None:
        text = f"{result.fitness:.3f}"
    else:
        text = f"{result.fitness:.3f} [{result.fitness_low:.3f}, {result.fitness_high:.3f}]"
    return f"{text} · {visible(result.degenerate, one_line=True)}" if result.degenerate else text


def paired_text(candidate: CandidateRecord) -> str:
    """`+0.021 p=0.25`: the difference with the baseline at comparable KL, seed by seed."""
    paired = candidate.figures.paired if candidate.figures else None
    return "" if paired is None else f"{paired.difference:+.3f} p={paired.p_value:.2g}"


def held_out_text(confirmation: Confirmation | None) -> Text:
    """`confirmed (p 0.016)` in green, `not confirmed (p 0.62)`, or `incomplete`: the verdict of the
    held-out confirmation with its Holm-corrected p-value; empty for a candidate not confirmed on."""
    if confirmation is None:
        return Text("")
    p_value = "" if confirmation.adjusted_p is None else f" (p {confirmation.adjusted_p:.2g})"
    return Text(confirmation.verdict + p_value, style="green" if confirmation.confirmed else "")


def display_name(candidate: CandidateRecord) -> Text:
    """The name, with seeds marked so they are never mistaken for discoveries."""
    text = Text(visible(candidate.name), style="bold" if candidate.is_seed else "")
    if candidate.is_seed:
        text.append(" (seed)", style="dim")
    return text


def status_text(status: CandidateStatus) -> Text:
    return Text(status.value, style=STATUS_STYLES.get(status, ""))


def runs_table(summaries: list[RunSummary]) -> FittedTable:
    """Every run; run ids and best names whole, the less useful columns dropped on a narrow terminal."""
    table = FittedTable(
        [
            Column("run", whole=True),
            Column("started (UTC)"),
            Column("evaluator", drop=4),
            Column("proposer", drop=5),
            Column("gens", justify="right"),
            Column("in flight", justify="right", drop=6),
            Column("scored / invalid / dup / failed", justify="right", drop=3),
            Column("best", whole=True, drop=2),
            Column("status"),
        ],
        title="Runs (newest first)",
    )
    for run in summaries:
        if run.error:
            table.add_row(run.id, Text(run.error, style="red"), *[""] * 7)
            continue
        counts = run.counts
        best = f"{run.best_name} {run.best_fitness:.3f}" if run.best_fitness is not None else ""
        table.add_row(
            run.id,
            run.started.strftime("%Y-%m-%d %H:%M") if run.started else "",
            run.evaluator,
            run.proposer,
            str(run.generations_done),
            str(counts.get(CandidateStatus.RUNNING.value, 0)),
            "/".join(str(counts.get(status.value, 0)) for status in COUNTED),
            best,
            Text(run.status.value, style=RUN_STYLES.get(run.status, "")) if run.status else "",
        )
    return table


def leaderboard_table(
    rows: list[tuple[int | None, CandidateRecord]],
    title: str,
    verdicts: dict[str, Confirmation] | None = None,
) -> FittedTable:
    """Rank, id, name, generation, fitness [interval], seeds and beta behind it, the difference with
    the baseline, the held-out verdict (`verdicts`, by candidate id: the run's confirmation; the
    column only when it has one), reward, KL, status, parents: measured figures only, ranked by the
    interval's low end. Ids and names are whole; on a narrow terminal the less useful columns go
    (parents first)."""
    verdicts = verdicts or {}
    verdict_column = [Column("held out", drop=1)] if verdicts else []
    columns = [
        Column("#", justify="right", drop=4),
        Column("id", whole=True),
        Column("name", whole=True),
        Column("gen", justify="right", drop=7),
        Column("fitness [interval]"),
        Column("n", justify="right", drop=2),
        Column("beta", justify="right", drop=5),
        Column("vs baseline", drop=3),
        *verdict_column,
        Column("reward", justify="right", drop=9),
        Column("KL", justify="right", drop=6),
        Column("status", drop=8),
        Column("parents", whole=True, drop=10),
    ]
    table = FittedTable(columns, title=title)
    for rank, candidate in rows:
        metrics = candidate.figures
        held_out = [held_out_text(verdicts.get(candidate.id))] if verdicts else []
        table.add_row(
            "" if rank is None else str(rank),
            candidate.id,
            display_name(candidate),
            str(candidate.generation),
            fitness_text(candidate),
            str(metrics.n) if metrics else "",
            number(metrics.best_beta if metrics else None, 2),
            paired_text(candidate),
            *held_out,
            number(metrics.reward if metrics else None),
            number(metrics.kl if metrics else None),
            status_text(candidate.status),
            "\n".join(candidate.parents),
        )
    return table


def reported_table(candidates: list[CandidateRecord]) -> FittedTable | None:
    """The paper's figures for the seeds that carry them, as a table of their own (None if none do)."""
    carrying = [c for c in candidates if c.reported and c.reported.figures]
    if not carrying:
        return None
    keys = [k for k in REPORTED_LABELS if any(k in c.reported.figures for c in carrying)]
    columns = [Column("name", whole=True), *(Column(REPORTED_LABELS[key], justify="right") for key in keys)]
    title = "Reported in the paper (not measured here)"
    table = FittedTable(columns, title, caption=carrying[0].reported.source)
    for candidate in carrying:
        figures = candidate.reported.figures
        table.add_row(candidate.name, *(f"{figures[k]:g}" if k in figures else "" for k in keys))
    return table


def candidate_detail(view: CandidateView, plot: RenderableType | None = None) -> Group:
    """Everything `discover show` prints about one candidate, top to bottom; `plot` is the curves panel."""
    candidate = view.candidate
    parts: list[RenderableType] = [_heading(view)]
    if candidate.thought:
        parts.append(Panel(Text(visible(candidate.thought)), title="thought", title_align="left"))
    parts.append(_verdict(view))
    if candidate.figures:
        parts.append(_seed_table(candidate))
    reported = reported_table([candidate])
    if reported is not None:
        parts.append(reported)
    if view.run is not None:
        parts.append(_lineage(view))
    code = Syntax(visible(candidate.code), "python", line_numbers=True, word_wrap=True, theme="ansi_dark")
    parts.append(Panel(code, title="code"))
    if plot is not None:
        parts.append(plot)
    if view.exchange is not None:
        parts.append(_exchange(view))
    return Group(*parts)


def curves_panel(view: CandidateView, source: CurveSource, width: int, height: int = 16) -> Text:
    """The loss / gradient plot of the candidate next to DPO's, or one line saying why there is none."""
    candidate = view.candidate
    if candidate.status is CandidateStatus.INVALID:
        return Text("no plot: the sandbox rejected this code", style="dim")
    try:
        curves = source.curves(candidate.code, view.beta)
        dpo = source.dpo(view.beta)
    except CurvesUnavailable as error:
        return Text(visible(f"no plot: {error}"), style="dim")
    return Text.from_ansi(plot(candidate.name, curves, dpo, width=width, height=height))


def _heading(view: CandidateView) -> Text:
    candidate = view.candidate
    text = Text()
    text.append(visible(candidate.name), style="bold")
    text.append(visible(f"  [{candidate.id}]"), style="dim")
    if candidate.is_seed:
        text.append("  seed", style="bold blue")
    if view.run is None:
        text.append("\nshipped objective, not measured in any run (`discover archive` shows measured seeds)")
        return text
    text.append(visible(f"\nrun {view.run.id} · generation {candidate.generation} · "))
    if candidate.island is not None:
        text.append(f"island {candidate.island} · ")
    if candidate.cell is not None:
        text.append(visible(f"cell {candidate.cell} · "))
    text.append_text(status_text(candidate.status))
    if candidate.figures:
        metrics = candidate.figures
        text.append(f" · fitness {fitness_text(candidate)}", style="bold")
        if metrics.reward is not None:
            text.append(f" · reward {metrics.reward:.3f}")
        if metrics.kl is not None:
            text.append(f" · KL {metrics.kl:.3f}")
    if candidate.seconds is not None:
        text.append(f" · {candidate.seconds:.0f} s")
    return text


def _verdict(view: CandidateView) -> Text:
    candidate = view.candidate
    if view.run is None:  # never through the loop: say what the static gate thinks now
        violations = check_source(candidate.code)
        if violations:
            reasons = "; ".join(map(str, violations))
            return Text(visible(f"verdict: rejected by the static gate: {reasons}"), style="red")
        return Text("verdict: passes the static gate", style="green")
    text = Text("verdict: ")
    text.append_text(status_text(candidate.status))
    if candidate.stage:
        text.append(f" at the {candidate.stage} stage")
    if candidate.reason:
        text.append(visible(f": {candidate.reason}"))
    return text


def _seed_table(candidate: CandidateRecord) -> Table:
    """Every training (seed and beta), collapses marked, then the headline at the best beta and the
    comparison with the baseline."""
    metrics = candidate.figures
    assert metrics is not None
    table = Table(title="measured, per training", title_justify="left")
    for column in ("seed", "beta", "fitness", "reward", "KL", "accuracy", "seconds"):
        table.add_column(column, justify="right")
    for seed in sorted(metrics.seeds, key=lambda t: (t.beta or 0.0, t.seed)):
        table.add_row(
            str(seed.seed),
            number(seed.beta, 2),
            number(seed.fitness) + (" collapsed" if seed.collapsed else ""),
            number(seed.reward),
            number(seed.kl),
            number(seed.accuracy),
            number(seed.seconds, 0),
            style="red" if seed.collapsed else "",
        )
    table.add_row(
        f"{metrics.n} seeds" if metrics.n != 1 else "1 seed",
        number(metrics.best_beta, 2),
        fitness_text(candidate),
        number(metrics.reward),
        number(metrics.kl),
        number(metrics.accuracy),
        number(metrics.seconds, 0),
        style="bold",
    )
    if (paired := metrics.paired) is not None:
        spread = "" if paired.difference_se is None else f" ± {paired.difference_se:.3f}"
        table.caption = visible(
            f"at its best beta; vs {paired.baseline} at beta {number(paired.beta, 2)} (comparable KL, "
            f"ratio {number(paired.kl_ratio, 2)}): {paired.difference:+.3f}{spread} over {paired.n} "
            f"paired seeds, p = {paired.p_value:.2g}; collapsed {metrics.collapse_rate:.0%} of trainings"
        )
        table.caption_justify = "left"
    return table


def _lineage(view: CandidateView) -> Text:
    text = Text("parents: ", style="bold")
    if not view.parents:
        text.append("none", style="dim")
    for index, (parent_id, parent) in enumerate(view.parents):
        text.append(", " if index else "")
        text.append(
            visible(f"{parent.name} [{parent_id}] {number(parent.fitness)}".rstrip() if parent else parent_id)
        )
    text.append("\nchildren: ", style="bold")
    if not view.children:
        text.append("none", style="dim")
    for index, child in enumerate(view.children):
        text.append(", " if index else "")
        text.append(visible(f"{child.name} [{child.id}] "))
        text.append_text(status_text(child.status))
    return text


def _exchange(view: CandidateView) -> Panel:
    exchange = view.exchange
    parts: list[RenderableType] = []
    for message in exchange.messages:
        role = str(message.get("role", "?"))
        parts.append(Text(visible(role), style="bold cyan"))
        parts.append(Text(visible(_clip(str(message.get("content", ""))))))
    parts.append(Text("response", style="bold green"))
    parts.append(Text(visible(exchange.response) if exchange.response is not None else "(no response)"))
    if exchange.error:
        parts.append(Text(visible(f"error: {exchange.error}"), style="red"))
    cost = f" · ${exchange.cost_usd:.4f}" if exchange.cost_usd is not None else ""
    footer = f"{exchange.prompt_tokens} prompt + {exchange.completion_tokens} completion tokens{cost}"
    title = f"LLM exchange {exchange.id} (generation {exchange.generation})"
    return Panel(Group(*parts), title=escape(title), subtitle=footer, title_align="left")


def _clip(content: str) -> str:
    lines = content.splitlines()
    if len(lines) <= EXCHANGE_LINES:
        return content
    hidden = len(lines) - EXCHANGE_LINES
    return "\n".join([*lines[:EXCHANGE_LINES], f"… {hidden} more lines (--json shows everything)"])


def transfer_table(found: TransferSummary) -> FittedTable:
    """Each candidate confirmed on: its search figure, then per held-out variant its figure and the
    difference with the baseline there (green where it still beats it), how many it survives, and
    the verdict over every variant and seed at once (`held_out_text`). Ids, names and the verdict
    always stay; on a narrow terminal the survivals, the search figure, then the variants go."""
    correlations = [
        f"{variant.name} {rho:+.2f}"
        if (rho := found.rank_correlation(variant.name)) is not None
        else f"{variant.name} n/a"
        for variant in found.variants
    ]
    table = FittedTable(
        [
            Column("id", whole=True),
            Column("name", whole=True),
            Column("search", justify="right", drop=2),
            *(Column(variant.name, justify="right", drop=3) for variant in found.variants),
            Column("survives", justify="right", drop=1),
            Column("held out"),
        ],
        title="Held-out confirmation (fitness, and vs the baseline on the same variant)",
        caption="held out: beats the baseline over every variant and fresh seed at once, p Holm-corrected "
        "over the proposals confirmed together; rank correlation of search and held-out fitness: "
        + ", ".join(correlations),
        caption_justify="left",
    )
    baseline_id = found.candidates[0].id if found.candidates else None
    verdicts = found.confirmations()
    for candidate in found.candidates:
        cells, survived = [], 0
        for variant in found.variants:
            record = found.results.get((variant.name, candidate.id))
            if record is None or record.result is None:
                cells.append(Text("failed" if record else "", style="red"))
                continue
            paired = record.result.paired
            kept = found.survives(candidate.id, variant.name)
            survived += bool(kept)
            versus = "" if paired is None else f" ({paired.difference:+.3f})"
            cells.append(Text(f"{record.result.fitness:.3f}{versus}", style="green" if kept else ""))
        if candidate.id == baseline_id:
            tally, verdict = "baseline", Text("baseline")
        else:
            tally, verdict = f"{survived}/{len(found.variants)}", held_out_text(verdicts.get(candidate.id))
        table.add_row(candidate.id, display_name(candidate), fitness_text(candidate), *cells, tally, verdict)
    return table
