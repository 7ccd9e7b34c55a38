"""Fitness by generation for one run, drawn in the terminal: every scored candidate as a point (its
interval as a vertical bar where it has one) and the best so far as a step line, so a glance says
whether the search is still improving and which gains stand out of the seed noise.

The colours are bright ones that read on a dark terminal (and still on a light one): the line in
yellow, proposals in cyan, the shipped seeds in light grey.
"""

import plotext

from discovery.records import CandidateRecord
from discovery.ui.figures import best_so_far, scored

BEST_COLOUR = "orange+"  # plotext's bright yellow
PROPOSAL_COLOUR = "cyan+"
SEED_COLOUR = "gray+"


def step_line(line: list[tuple[int, float]]) -> tuple[list[float], list[float]]:
    """The corners of a step drawing of `line`: flat through each generation, rising at the generation
    that improved on the best, never slanting between generations as if improving gradually."""
    xs: list[float] = []
    ys: list[float] = []
    for index, (generation, value) in enumerate(line):
        if index:
            xs.append(generation)
            ys.append(line[index - 1][1])
        xs.append(generation)
        ys.append(value)
    return xs, ys


def fitness_chart(candidates: list[CandidateRecord], width: int, height: int) -> str | None:
    """The chart as text with ANSI colours, or None when nothing is scored yet."""
    points = scored(candidates)
    if not points:
        return None
    last = max(c.generation for c in candidates)
    line = best_so_far(candidates, last)
    figure = plotext.figure
    figure.clear()
    figure.theme("simple")
    figure.plot_size(max(width, 30), max(height, 8))
    figure.title("fitness by generation (line: best so far)")
    xs, ys = step_line(line)
    best = figure.signal(xs, ys, marker=plotext.marker("hd", BEST_COLOUR))
    best.lines()
    figure.draw(best)
    for is_seed, colour in ((True, SEED_COLOUR), (False, PROPOSAL_COLOUR)):
        group = [p for p in points if p.is_seed is is_seed]
        for point in group:
            if point.interval is not None:
                figure.draw(
                    figure.segment(
                        [point.generation] * 2, list(point.interval), marker=plotext.marker("hd", colour)
                    )
                )
        if group:  # drawn after the line, so that points on it stay visible
            marker = plotext.marker("hd", colour)
            figure.draw(
                figure.signal([p.generation for p in group], [p.fitness for p in group], marker=marker)
            )
    step = max(1, -(-last // 8))  # at most ~9 whole-generation ticks
    figure.ruler("x").ticks(list(range(0, last + 1, step)))
    return figure.build().string()
