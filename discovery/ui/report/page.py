"""The report pages: a run on one page, or two candidates side by side, as self-contained HTML.

Everything shown comes from the archive and is untrusted (names, thoughts and code come from an
LLM): the templates escape every value (Jinja's autoescape); only the figures (matplotlib's SVG)
and the formatted code (pygments, difflib) are inlined as markup, and they escape what they draw.
A Content-Security-Policy without scripts stands behind that: the page has no script of its own,
so none may run. Nothing is fetched: styles and figures are inline, so the file opens offline.
Every value a template prints, the inlined markup too, is made `visible` (`_visible`): no control
character or bidi control from the archive reaches the page, where it would reorder or hide text.

Loss curves are computed by the sandbox (`CurveSource`), never by running candidate code here.
"""

from dataclasses import dataclass, replace
from datetime import datetime

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from discovery import __version__
from discovery.archive import Archive
from discovery.objectives import load_objective
from discovery.population.behaviour import elites
from discovery.records import CandidateRecord, now
from discovery.resolve import CandidateView, run_beta
from discovery.sandbox import Curves, CurvesUnavailable
from discovery.transfer import ALPHA, run_result
from discovery.ui.curves import CurveSource
from discovery.ui.figures import (
    Scored,
    best_so_far,
    confirmation_of,
    frontier,
    lineage,
    ranked,
    run_facts,
    scored,
    transfers,
)
from discovery.ui.report import plots
from discovery.ui.report.code import code_css, code_html, diff_html, side_by_side
from discovery.ui.views import fitness_text, held_out_text, number, paired_text
from discovery.untrusted import visible

GENERATOR = "discover report"  # the page's <meta name="generator">: how a report is recognised
TOP_CURVES = 5  # best candidates drawn on the loss / gradient and fitness / beta figures, besides DPO
OPEN_ENTRIES = 3  # candidates whose code and diffs are unfolded on arrival


def _visible(value: object) -> object:
    """A value a template prints, its control characters written as escapes: text before Jinja
    escapes it, markup as markup (an escape adds no `<` or `&` to it)."""
    if isinstance(value, Markup):
        return Markup(visible(value))
    return visible(value) if isinstance(value, str) else value


_templates = Environment(
    loader=PackageLoader("discovery.ui.report", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_visible,
)
_templates.globals.update(
    fitness_text=fitness_text,
    paired_text=paired_text,
    held_out_text=held_out_text,
    alpha=ALPHA,
    number=number,
    beta_text=lambda beta: "" if beta is None else f"{beta:g}",  # 0.025 stays 0.025
    generator=GENERATOR,
    version=__version__,
)


@dataclass(frozen=True)
class Plot:
    """One figure of a page; `svg` is None when there is nothing to draw, and `note` says why."""

    id: str
    title: str
    caption: str
    svg: Markup | None
    note: str | None = None


@dataclass(frozen=True)
class Parent:
    id: str
    record: CandidateRecord | None  # None: the run does not hold it
    diff: Markup | None  # None: the same code, or no parent code to compare with


@dataclass(frozen=True)
class Entry:
    """A candidate's section of the run page."""

    candidate: CandidateRecord
    rank: int | None
    code: Markup
    parents: list[Parent]
    children: list[CandidateRecord]
    unfolded: bool


def run_page(archive: Archive, curves: CurveSource) -> str:
    """The report of the run `archive` holds."""
    run = archive.run()
    candidates = archive.candidates()
    points = scored(candidates)
    board = ranked(candidates)
    ranks = {c.id: rank for rank, c in enumerate(board, start=1)}
    last = max((c.generation for c in candidates), default=0)
    dpo = load_objective("dpo").source  # drawn as the reference on every curve figure
    drawn = [c for c in board if c.code != dpo][:TOP_CURVES]
    by_point = {p.id: p for p in points}
    baseline = by_point.get(f"seed-{run.config.racing.baseline}")
    plots_shown = [
        _fitness_plot(points, best_so_far(candidates, last)),
        _plane_plot(points, labelled=[p.id for p in points if p.is_seed], baseline=baseline),
        _betas_plot([(f"#{ranks[c.id]} {c.name}", by_point[c.id]) for c in drawn], baseline),
        _lineage_plot(candidates),
        _cells_plot(candidates),
        _curves_plot([(f"#{ranks[c.id]} {c.name}", c.code) for c in drawn], run_beta(run), curves),
    ]
    by_id = {c.id: c for c in candidates}
    others = [c for c in candidates if c.id not in ranks]
    confirmation = confirmation_of(candidates, archive.transfers())
    verdicts = confirmation.confirmations() if confirmation else {}
    entries = [
        _entry(c, ranks.get(c.id), by_id, index < OPEN_ENTRIES) for index, c in enumerate([*board, *others])
    ]
    return _templates.get_template("run.html").render(
        title=f"discover report · run {run.id}",
        css=Markup(code_css()),
        run=run,
        facts=run_facts(run, candidates, archive.exchanges()),
        config=_yaml(run.config.model_dump(mode="json")),
        evaluator_config=_yaml(run.evaluator_config),
        plots=plots_shown,
        result=run_result(confirmation),
        confirmed=any(verdict.confirmed for verdict in verdicts.values()),
        verdicts=verdicts,
        transfers=transfers(confirmation),
        summaries=archive.summaries(),
        board=board,
        ranks=ranks,
        others=others,
        entries=entries,
        generated=_stamp(now()),
        stamp=_stamp,
    )


def comparison_page(first: CandidateView, second: CandidateView, curves: CurveSource) -> str:
    """Two candidates side by side: figures, seeds, reward and KL, curves, and the code diff."""
    views = (first, second)
    labels = [_label(view) for view in views]
    # Each under its label (two runs may both hold a `g1-c1`), in the colour it has on every figure.
    points = [
        replace(point, id=label, name=_short_label(view)) if point else None
        for view, label in zip(views, labels, strict=True)
        for point in [next(iter(scored([view.candidate])), None)]
    ]
    measured = [p for p in points if p is not None]
    colours = dict(zip(labels, plots.LINES, strict=False))
    seeds = Plot(
        "seeds",
        "Fitness per training seed",
        "Each training seed's fitness at the candidate's best beta (dots; crosses: collapsed) and their "
        "mean with its interval (square).",
        Markup(plots.seeds_svg([(_short_label(v), p) for v, p in zip(views, points, strict=True)]))
        if measured
        else None,
        None if measured else "neither candidate was scored",
    )
    plots_shown = [
        seeds,
        _plane_plot(measured, labelled=labels, colours=colours),
        _betas_plot([(p.name, p) for p in measured], None),
        _curves_plot(list(zip(labels, (v.candidate.code for v in views), strict=True)), first.beta, curves),
    ]
    return _templates.get_template("compare.html").render(
        title=f"discover report · {labels[0]} vs {labels[1]}",
        css=Markup(code_css()),
        views=views,
        labels=labels,
        codes=[code_html(v.candidate.code) for v in views],
        diff=side_by_side(first.candidate.code, second.candidate.code, labels[0], labels[1]),
        plots=plots_shown,
        generated=_stamp(now()),
    )


def _fitness_plot(points: list[Scored], best: list[tuple[int, float]]) -> Plot:
    caption = (
        "Every scored candidate by the generation that proposed it (generation 0: the seed objectives), "
        "at its best beta, with its confidence interval where one is known; the line is the best fitness "
        "so far, a running maximum over the generations in order."
    )
    if not points:
        return Plot("fitness", "Fitness by generation", caption, None, "no candidate scored yet")
    return Plot("fitness", "Fitness by generation", caption, Markup(plots.fitness_svg(points, best)))


def _plane_plot(
    points: list[Scored],
    labelled: list[str],
    colours: dict[str, str] | None = None,
    baseline: Scored | None = None,
) -> Plot:
    """The reward-KL plane with its frontier and the baseline's path across betas; given `colours`
    (a comparison), the points alone."""
    caption = (
        "Reward against KL from the reference: the trade-off every objective makes, each at its best beta. "
        "Up and to the left is better. Faint dots are single training seeds."
    )
    if baseline is not None and len([b for b in baseline.betas if b.kl is not None]) > 1:
        caption += f" The dashed line is {baseline.name} trained at each beta of the grid."
    placed = [p for p in points if p.on_plane]
    if not placed:
        return Plot(
            "plane", "Reward against KL", caption, None, "no scored candidate has both a reward and a KL"
        )
    front = frontier(placed) if colours is None else []
    if front:
        caption += (
            " The dotted line rings the frontier: no candidate has more reward for less KL than one on it."
        )
    svg = plots.plane_svg(placed, front, labelled, colours, baseline)
    return Plot("plane", "Reward against KL", caption, Markup(svg))


def _betas_plot(named: list[tuple[str, Scored]], baseline: Scored | None) -> Plot:
    """Fitness against beta for each (label, candidate) and the baseline, where a grid was trained."""
    caption = (
        "Fitness at each beta of the grid (mean ± standard error over its seeds there): a candidate's "
        "headline figure is the one at its best beta (ringed)."
    )
    title = "Fitness against beta"
    gridded = [(label, p) for label, p in named if len([b for b in p.betas if b.beta is not None]) > 1]
    if baseline is not None and len([b for b in baseline.betas if b.beta is not None]) < 2:
        baseline = None
    if not gridded and baseline is None:
        return Plot("betas", title, caption, None, "every candidate was trained at a single beta")
    return Plot("betas", title, caption, Markup(plots.betas_svg(gridded, baseline)))


def _cells_plot(candidates: list[CandidateRecord]) -> Plot:
    """The best fitness in each cell of the behaviour map, empty cells shown: how widely the run looked."""
    caption = (
        "The behaviour map: each candidate placed by how its gradient behaves, ahead (at a large positive "
        "margin), behind (at a large negative one) and on each answer apart from the margin; each cell "
        "shows the best fitness reached in it, grey cells none."
    )
    best = {cell: elite.fitness for cell, elite in elites(candidates).items() if elite.fitness is not None}
    if not any(candidate.cell for candidate in candidates):
        return Plot(
            "cells", "Behaviour map", caption, None, "no candidate was placed on the map (an older run)"
        )
    return Plot("cells", "Behaviour map", caption, Markup(plots.cells_svg(best)))


def _lineage_plot(candidates: list[CandidateRecord]) -> Plot:
    caption = (
        "Each candidate in the column of its generation, best at the top, with an edge from each parent "
        "it was derived from; crosses are candidates that were not scored."
    )
    if not candidates:
        return Plot("lineage", "Lineage", caption, None, "no candidate yet")
    return Plot("lineage", "Lineage", caption, Markup(plots.lineage_svg(lineage(candidates))))


def _curves_plot(named: list[tuple[str, str]], beta: float, source: CurveSource) -> Plot:
    """Loss and gradient of each (label, code), computed in the sandbox, next to DPO's."""
    caption = (
        "The loss of one pair and its gradient against the margin rho (the policy's log-ratio of chosen "
        "over rejected, minus the reference's), as `discover show` draws them, with DPO's dashed."
    )
    drawn: list[tuple[str, Curves]] = []
    missing: list[str] = []
    try:
        dpo = source.dpo(beta)
        for label, code in named:
            try:
                drawn.append((label, source.curves(code, beta)))
            except CurvesUnavailable as error:
                missing.append(f"{label}: {error}")
    except CurvesUnavailable as error:
        return Plot("curves", "Loss and gradient against the margin", caption, None, f"no curves: {error}")
    note = "not drawn: " + "; ".join(missing) if missing else None
    return Plot(
        "curves", "Loss and gradient against the margin", caption, Markup(plots.curves_svg(drawn, dpo)), note
    )


def _entry(
    candidate: CandidateRecord, rank: int | None, by_id: dict[str, CandidateRecord], unfolded: bool
) -> Entry:
    parents = []
    for parent_id in dict.fromkeys(candidate.parents):
        parent = by_id.get(parent_id)
        diff = diff_html(parent.code, candidate.code, parent.name, candidate.name) if parent else None
        parents.append(Parent(parent_id, parent, diff))
    children = [c for c in by_id.values() if candidate.id in c.parents]
    return Entry(candidate, rank, code_html(candidate.code), parents, children, unfolded)


def _label(view: CandidateView) -> str:
    """`name (RUN/ID)`, or the name alone for a shipped objective outside any run."""
    candidate = view.candidate
    return f"{candidate.name} ({view.run.id}/{candidate.id})" if view.run else candidate.name


def _short_label(view: CandidateView) -> str:
    """`name [ID]` for the figures' narrow places, or the name alone outside any run."""
    return f"{view.candidate.name} [{view.candidate.id}]" if view.run else view.candidate.name


def _yaml(value: object) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True).strip()


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""
