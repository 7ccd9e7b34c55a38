"""The report's figures, drawn with matplotlib into SVG text that the page inlines.

Figures are built with the object API (`Figure`, never pyplot), so no global backend is chosen and
the browser may draw a report in a thread. Names from the archive are drawn as plain text: never
read as mathtext (`text.parse_math` off, so a `$` in a name cannot break a figure) and kept as SVG
`<text>` (`svg.fonttype` none), which matplotlib escapes, which keeps the page small and lets a
reader search it. Each label is made `visible` first (`_label`): matplotlib has no glyph for a
control character (its warning would print the character raw) and cannot lay out a lone surrogate.
"""

import io
import textwrap
from collections.abc import Callable, Iterable
from itertools import cycle

import matplotlib
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator, NullFormatter

from discovery.population.behaviour import AXES, SEPARATOR
from discovery.records import CandidateStatus
from discovery.sandbox import Curves
from discovery.ui.curves import clipped
from discovery.ui.figures import Lineage, Scored
from discovery.untrusted import visible

STYLE = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.size": 9,
    "font.sans-serif": ["DejaVu Sans", "Arial"],  # one short list, repeated in every <text>
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e4e4e4",
    "legend.fontsize": 8,
    "legend.frameon": False,
}
NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}  # no dates, no external URIs
GENERATIONS = "viridis"  # proposals are coloured by generation on this map
SEED_COLOUR = "#555555"
BEST_COLOUR = "#d62728"
FRONTIER_COLOUR = "#d62728"
DPO_STYLE = {"color": "black", "linestyle": "--", "linewidth": 1.2}
STATUS_COLOURS = {
    CandidateStatus.INVALID: "#d62728",
    CandidateStatus.DUPLICATE: "#ff9f1c",
    CandidateStatus.FAILED: "#9467bd",
}
EMPTY_COLOUR = "#eeeeee"  # a behaviour cell no candidate reached
PENDING_COLOUR = "#6baed6"  # proposed, validated or running
LINES = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
MAX_LABELS = 40  # lineage nodes labelled by name; above that only seeds and the best are
LABEL_CHARS = 28


def render(width: float, height: float, draw: Callable[[Figure], None]) -> str:
    """The `<svg>` element of a `width` x `height` inch figure that `draw` fills."""
    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(width, height), layout="constrained")
        draw(figure)
        figure.savefig(buffer, format="svg", metadata=NO_METADATA)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def fitness_svg(points: list[Scored], best: list[tuple[int, float]]) -> str:
    """Fitness by generation: every scored candidate (its interval as an error bar where it has one),
    and the best so far as a step line that rises at the generation that improved it."""

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        axes.step(
            [g for g, _ in best], [f for _, f in best], where="post", color=BEST_COLOUR, label="best so far"
        )
        offsets = _spread(points)
        for is_seed, style in ((True, {"marker": "D", "color": SEED_COLOUR}), (False, {"marker": "o"})):
            group = [p for p in points if p.is_seed is is_seed]
            if not group:
                continue
            errors = [p.error or (0.0, 0.0) for p in group]
            axes.errorbar(
                [p.generation + offsets[p.id] for p in group],
                [p.fitness for p in group],
                yerr=[[low for low, _ in errors], [high for _, high in errors]]
                if any(map(any, errors))
                else None,
                linestyle="none",
                markersize=4,
                elinewidth=0.8,
                capsize=2,
                label="seed objective" if is_seed else "proposal",
                **style,
            )
        axes.set_xlabel("generation")
        axes.set_ylabel("fitness")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.legend(loc="lower right")

    return render(7.5, 3.6, draw)


def plane_svg(
    points: list[Scored],
    front: list[Scored],
    labelled: Iterable[str],
    colours: dict[str, str] | None = None,
    baseline: Scored | None = None,
) -> str:
    """Reward against KL: a point per candidate at its best beta (the seeds there faintly around it),
    proposals coloured by generation, the candidates in `labelled` named, and the frontier drawn as a
    step line. Given `colours` (candidate id -> colour, as on a comparison page), each point takes its
    own instead. Given a `baseline` trained at several betas, its path across them is drawn: the
    trade-off DPO offers by tuning beta alone."""
    named = set(labelled)
    placed = [p for p in points if p.on_plane]
    proposals = [p for p in placed if not p.is_seed]
    generations = Normalize(
        vmin=min((p.generation for p in proposals), default=0),
        vmax=max((p.generation for p in proposals), default=1),
    )
    cmap = matplotlib.colormaps[GENERATIONS]

    def colour(point: Scored) -> object:
        if colours:
            return colours[point.id]
        return SEED_COLOUR if point.is_seed else cmap(generations(point.generation))

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        for point in placed:
            seeds = [s for s in point.headline_seeds if s.reward is not None and s.kl is not None]
            if len(seeds) > 1:
                axes.scatter(
                    [s.kl for s in seeds], [s.reward for s in seeds], s=10, alpha=0.25, color=colour(point)
                )
        path = [b for b in (baseline.betas if baseline else ()) if b.kl is not None and b.reward is not None]
        if baseline and len(path) > 1:
            axes.plot(
                [b.kl for b in path],
                [b.reward for b in path],
                color=SEED_COLOUR,
                linestyle="--",
                linewidth=0.9,
                marker=".",
                label=f"{_short(baseline.name)} across betas",
                zorder=2,
            )
        if front:
            axes.plot(
                [p.kl for p in front],
                [p.reward for p in front],
                drawstyle="steps-post",
                color=FRONTIER_COLOUR,
                linestyle=":",
                linewidth=1.2,
                marker="o",  # ringed, so that a frontier of one candidate shows too
                markersize=10,
                markerfacecolor="none",
                label="frontier",
                zorder=1,
            )
        seeds = [p for p in placed if p.is_seed]
        if colours:
            for point in placed:
                marker = "D" if point.is_seed else "o"
                axes.scatter([point.kl], [point.reward], marker=marker, s=36, color=colour(point), zorder=3)
        elif seeds:
            axes.scatter(
                [p.kl for p in seeds],
                [p.reward for p in seeds],
                marker="D",
                s=28,
                color=SEED_COLOUR,
                label="seed objective",
                zorder=3,
            )
        if proposals and not colours:
            drawn = axes.scatter(
                [p.kl for p in proposals],
                [p.reward for p in proposals],
                s=28,
                zorder=3,
                c=[p.generation for p in proposals],
                cmap=cmap,
                norm=generations,
                label="proposal",
            )
            bar = figure.colorbar(drawn, ax=axes, label="generation", shrink=0.8)
            bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        for point in placed:
            if point.id in named:
                axes.annotate(
                    _short(point.name),
                    (point.kl, point.reward),
                    xytext=(5, 4),
                    textcoords="offset points",
                    fontsize=8,
                    color=colour(point),
                )
        axes.set_xlabel("KL(policy ‖ reference)  (less is closer to the reference)")
        axes.set_ylabel("reward")
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="lower right")

    return render(7.5, 4.6, draw)


def cells_svg(best: dict[str, float]) -> str:
    """The behaviour map as a heat map: a panel per bin of its last axis, a row per bin of the second
    and a column per bin of the first, each cell coloured by the best fitness reached in it, empty
    cells grey and marked so."""
    first, second, last = AXES
    values = list(best.values())
    colour = Normalize(vmin=min(values, default=0.0), vmax=max(values, default=1.0))
    colours = matplotlib.colormaps[GENERATIONS]

    def draw(figure: Figure) -> None:
        panels = figure.subplots(1, len(last.bins), sharey=True, squeeze=False)[0]
        for panel, side in zip(panels, last.bins, strict=True):
            panel.grid(False)
            for row, behind in enumerate(second.bins):
                for column, ahead in enumerate(first.bins):
                    fitness = best.get(SEPARATOR.join((ahead, behind, side)))
                    fill = EMPTY_COLOUR if fitness is None else colours(colour(fitness))
                    panel.add_patch(Rectangle((column, row), 1, 1, facecolor=fill, edgecolor="white"))
                    text = "empty" if fitness is None else f"{fitness:.3f}"
                    shade = "#777777" if fitness is None else ("white" if colour(fitness) < 0.6 else "black")
                    panel.text(
                        column + 0.5, row + 0.5, text, ha="center", va="center", color=shade, fontsize=8
                    )
            panel.set_xlim(0, len(first.bins))
            panel.set_ylim(0, len(second.bins))
            panel.set_xticks([k + 0.5 for k in range(len(first.bins))], first.bins)
            panel.set_yticks([k + 0.5 for k in range(len(second.bins))], second.bins)
            panel.set_title(f"{last.name}: {side}")
        # one label per axis: repeated under every panel, the long labels ran into each other
        panels[len(panels) // 2].set_xlabel(f"{first.name}: {first.meaning}", fontsize=7)
        panels[0].set_ylabel(textwrap.fill(f"{second.name}: {second.meaning}", 34), fontsize=7)

    return render(9.5, 3.4, draw)


def lineage_svg(tree: Lineage) -> str:
    """The lineage as a graph: a column per generation, each candidate a node (scored ones coloured by
    fitness, best at the top of their column), an edge from each parent to its child."""
    by_generation: dict[int, list] = {}
    for node in tree.nodes:
        by_generation.setdefault(node.generation, []).append(node)
    place: dict[str, tuple[float, float]] = {}
    for generation, nodes in by_generation.items():
        nodes.sort(key=lambda n: -(n.fitness if n.fitness is not None else float("-inf")))
        for row, node in enumerate(nodes):
            place[node.id] = (generation, -row)
    tallest = max((len(n) for n in by_generation.values()), default=1)
    scored_nodes = [n for n in tree.nodes if n.fitness is not None]
    scored_ids = {n.id for n in scored_nodes}
    fitness = Normalize(
        vmin=min((n.fitness for n in scored_nodes), default=0),
        vmax=max((n.fitness for n in scored_nodes), default=1),
    )
    best = {n.id for n in sorted(scored_nodes, key=lambda n: -n.fitness)[:5]}
    label_all = len(tree.nodes) <= MAX_LABELS

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        axes.grid(False)
        axes.add_collection(
            LineCollection(
                [(place[a], place[b]) for a, b in tree.edges], colors="#b0b0b0", linewidths=0.8, zorder=1
            )
        )
        if scored_nodes:
            drawn = axes.scatter(
                [place[n.id][0] for n in scored_nodes],
                [place[n.id][1] for n in scored_nodes],
                c=[n.fitness for n in scored_nodes],
                cmap=GENERATIONS,
                norm=fitness,
                s=36,
                edgecolors=[SEED_COLOUR if n.is_seed else "none" for n in scored_nodes],
                zorder=3,
            )
            figure.colorbar(drawn, ax=axes, label="fitness", shrink=0.8)
        others: dict[CandidateStatus, list] = {}
        for node in tree.nodes:
            if node.id not in scored_ids:
                others.setdefault(node.status, []).append(node)
        for status, group in others.items():
            axes.scatter(
                [place[n.id][0] for n in group],
                [place[n.id][1] for n in group],
                marker="x",
                s=30,
                color=STATUS_COLOURS.get(status, PENDING_COLOUR),
                label=status.value,
                zorder=3,
            )
        for node in tree.nodes:
            if label_all or node.is_seed or node.id in best:
                x, y = place[node.id]
                axes.annotate(
                    _short(node.name), (x, y), xytext=(5, -3), textcoords="offset points", fontsize=7
                )
        axes.set_xlabel("generation")
        axes.set_yticks([])
        axes.spines["left"].set_visible(False)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.set_xlim(min(by_generation, default=0) - 0.3, max(by_generation, default=0) + 1)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="lower left", bbox_to_anchor=(0, 1), ncols=4)

    return render(min(4 + 1.4 * len(by_generation), 14), min(1.5 + 0.3 * tallest, 12), draw)


def curves_svg(named: list[tuple[str, Curves]], dpo: Curves) -> str:
    """Loss and its gradient against the margin rho for each (label, curves), with DPO's dashed.
    A curve far outside DPO's range is clamped (as in `discover show`) and the panel says so."""

    def draw(figure: Figure) -> None:
        panels = figure.subplots(1, 2)
        for axes, title, part in zip(panels, ("loss", "d loss / d rho"), ("loss", "gradient"), strict=True):
            reference = getattr(dpo, part)
            clamped = False
            for (label, curves), colour in zip(named, cycle(LINES)):
                shown, was_clamped = clipped(getattr(curves, part), reference)
                clamped = clamped or was_clamped
                axes.plot(curves.rho, shown, color=colour, linewidth=1.3, label=_label(label))
            axes.plot(dpo.rho, reference, label="dpo (reference)", **DPO_STYLE)
            axes.set_title(f"{title} (clipped)" if clamped else title)
            axes.set_xlabel(f"rho (beta = {dpo.beta:g})")
        figure.legend(*panels[0].get_legend_handles_labels(), loc="outside lower center", ncols=3)

    return render(9, 3.6 + 0.2 * (len(named) + 1) / 3, draw)


def seeds_svg(named: list[tuple[str, Scored | None]]) -> str:
    """Each (label, candidate)'s fitness per training seed at its best beta (collapsed ones crossed),
    its mean and interval beside them."""

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        for index, ((_, point), colour) in enumerate(zip(named, cycle(LINES))):
            if point is None:
                continue
            for collapsed, marker in ((False, "o"), (True, "x")):
                fitness = [s.fitness for s in point.headline_seeds if s.collapsed is collapsed]
                axes.scatter(
                    [index - 0.1] * len(fitness), fitness, s=16, alpha=0.6, color=colour, marker=marker
                )
            below, above = point.error or (0.0, 0.0)
            axes.errorbar(
                [index + 0.1],
                [point.fitness],
                yerr=[[below], [above]],
                fmt="s",
                color=colour,
                capsize=3,
                markersize=5,
            )
        axes.set_xticks(range(len(named)), [_short(label) for label, _ in named])
        axes.set_xlim(-0.6, len(named) - 0.4)
        axes.set_ylabel("fitness (dots: seeds; square: mean, interval)")

    return render(5, 3.2, draw)


def betas_svg(named: list[tuple[str, Scored]], baseline: Scored | None) -> str:
    """Fitness against beta (log scale) for each (label, candidate), ± its standard error at each
    beta, its best beta ringed; the `baseline`'s dashed: which beta each loss needs, and whether it
    beats DPO at DPO's best as well as its own."""

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        lines = [(label, point, {"color": colour}) for (label, point), colour in zip(named, cycle(LINES))]
        if baseline is not None:
            lines.append((f"{baseline.name} (reference)", baseline, DPO_STYLE))
        for label, point, style in lines:
            grid = [b for b in point.betas if b.beta is not None]
            axes.errorbar(
                [b.beta for b in grid],
                [b.fitness for b in grid],
                yerr=[b.fitness_se or 0.0 for b in grid],
                marker=".",
                capsize=2,
                label=_short(label),
                **style,
            )
            best = [b for b in grid if b.beta == point.best_beta]
            axes.scatter(
                [b.beta for b in best],
                [b.fitness for b in best],
                s=70,
                facecolors="none",
                color=style["color"],
            )
        axes.set_xscale("log")
        grid = sorted({b.beta for _, point, _ in lines for b in point.betas if b.beta is not None})
        axes.set_xticks(grid, [f"{beta:g}" for beta in grid])  # the grid's betas, not powers of ten
        axes.xaxis.set_minor_formatter(NullFormatter())
        axes.set_xlabel("beta (ringed: the candidate's best)")
        axes.set_ylabel("fitness (mean ± s.e.)")
        figure.legend(*axes.get_legend_handles_labels(), loc="outside right upper")

    return render(9, 3.6, draw)


def _spread(points: list[Scored]) -> dict[str, float]:
    """Small horizontal offsets for candidates sharing a generation, so that none hides another."""
    by_generation: dict[int, list[str]] = {}
    for point in points:
        by_generation.setdefault(point.generation, []).append(point.id)
    offsets = {}
    for ids in by_generation.values():
        for index, point_id in enumerate(ids):
            offsets[point_id] = 0.0 if len(ids) == 1 else -0.25 + 0.5 * index / (len(ids) - 1)
    return offsets


def _label(text: str) -> str:
    """A name or label as a figure draws it: on one line, its control characters visible."""
    return visible(text, one_line=True)


def _short(text: str) -> str:
    """`_label`, cut where a narrow place needs it."""
    text = _label(text)
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
