"""Fitness by generation for one run, drawn in the terminal: every scored candidate as a point and
the best-so-far as a line, so a glance says whether the search is still improving."""

import plotext

from discovery.records import CandidateRecord, CandidateStatus


def best_so_far(candidates: list[CandidateRecord]) -> list[tuple[int, float]]:
    """(generation, best fitness up to and including it) for each generation with a scored candidate."""
    best: dict[int, float] = {}
    for candidate in candidates:
        if candidate.status is CandidateStatus.SCORED and candidate.fitness is not None:
            generation = candidate.generation
            best[generation] = max(best.get(generation, candidate.fitness), candidate.fitness)
    running, line = float("-inf"), []
    for generation in sorted(best):
        running = max(running, best[generation])
        line.append((generation, running))
    return line


def fitness_chart(candidates: list[CandidateRecord], width: int, height: int) -> str | None:
    """The chart as text with ANSI colours, or None when nothing is scored yet."""
    scored = [c for c in candidates if c.status is CandidateStatus.SCORED and c.fitness == c.fitness]
    line = best_so_far(scored)
    if not line:
        return None
    figure = plotext.figure
    figure.clear()
    figure.theme("simple")
    figure.plot_size(max(width, 30), max(height, 8))
    figure.title("fitness by generation (line: best so far)")
    figure.draw(figure.signal([c.generation for c in scored], [c.fitness for c in scored]))
    best = figure.signal([g for g, _ in line], [f for _, f in line])
    best.lines()
    figure.draw(best)
    last = line[-1][0]
    step = max(1, -(-last // 8))  # at most ~9 whole-generation ticks
    figure.ruler("x").ticks(list(range(0, last + 1, step)))
    return figure.build().string()
