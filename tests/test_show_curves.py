"""The loss / gradient curves of `discover show`, and the browser's fitness-by-generation chart."""

import math
import re

import plotext
import pytest

from discovery.objectives import load_objective
from discovery.sandbox import CurvesUnavailable
from discovery.ui.charts import fitness_chart, step_line
from discovery.ui.curves import CurveSource, plot
from tests.support.archive_factory import proposal, seed_candidates


@pytest.fixture(scope="module")
def source():
    with CurveSource() as curves:
        yield curves


def test_dpo_curves_match_the_closed_form(source) -> None:
    beta = 0.1
    curves = source.dpo(beta)
    assert curves.rho[0] == pytest.approx(-100) and curves.rho[-1] == pytest.approx(100)
    for rho, loss, gradient in zip(curves.rho[::20], curves.loss[::20], curves.gradient[::20], strict=True):
        z = beta * rho
        assert loss == pytest.approx(math.log1p(math.exp(-z)), rel=1e-4, abs=1e-5)
        assert gradient == pytest.approx(-beta / (1 + math.exp(z)), rel=1e-4, abs=1e-6)


def test_objectives_that_cannot_be_drawn_say_why(source) -> None:
    header = (
        "def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, "
        "reference_rejected_logps, beta):\n"
    )
    with pytest.raises(CurvesUnavailable, match="os"):
        source.curves("import os\n" + header + "    return policy_chosen_logps\n")
    with pytest.raises(CurvesUnavailable, match=r"loss returned \(\), expected \(201,\)"):
        source.curves(header + "    return policy_chosen_logps.mean()\n")


def test_the_plot_names_both_curves_and_flags_clipping(source) -> None:
    ipo = source.curves(load_objective("ipo").source)
    text = plotext.uncolorize(plot("ipo", ipo, source.dpo(), width=100, height=16))
    assert "ipo" in text and "dpo" in text and "loss (clipped)" in text and "rho (beta = 0.05)" in text


def test_the_terminal_chart_draws_the_best_so_far_as_steps_in_colours_for_dark_terminals() -> None:
    # Flat through generation 1 (no improvement), rising at generation 2, never slanting in between.
    assert step_line([(0, 0.5), (1, 0.5), (2, 0.7)]) == ([0, 1, 1, 2, 2], [0.5, 0.5, 0.5, 0.5, 0.7])
    candidates = [*seed_candidates("r"), *(proposal("r", i, i + 1, [], None) for i in range(12))]
    drawn = fitness_chart(candidates, 60, 12)
    # Bright yellow line, bright cyan proposals, light grey seeds: no dark blue, which a dark
    # terminal swallows.
    assert set(re.findall(r"\x1b\[38;5;(\d+)m", drawn)) == {"11", "14", "7"}
    assert "fitness by generation" in plotext.uncolorize(drawn)
    assert fitness_chart([c for c in candidates if c.status.value != "scored"], 60, 10) is None


def test_the_terminal_chart_draws_each_interval_as_a_bar() -> None:
    candidates = [*seed_candidates("r"), *(proposal("r", i, i + 1, [], None) for i in range(6))]
    best = max((c for c in candidates if c.figures), key=lambda c: c.figures.fitness)
    sure = {"fitness_low": None, "fitness_high": None}
    unsure = {"fitness_low": best.figures.fitness - 0.3, "fitness_high": best.figures.fitness + 0.1}

    def drawn_cells(update: dict) -> int:
        widened = [
            c.model_copy(update={"figures": c.figures.model_copy(update=update)}) if c is best else c
            for c in candidates
        ]
        return sum(ch not in " " for ch in plotext.uncolorize(fitness_chart(widened, 60, 20)))

    assert drawn_cells(unsure) > drawn_cells(sure) + 3  # a bar several rows tall under and over the point
