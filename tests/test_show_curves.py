"""The loss / gradient curves of `discover show`, and the browser's fitness-by-generation line."""

import itertools
import math

import plotext
import pytest

from discovery.objectives import load_objective
from discovery.sandbox import CurvesUnavailable
from discovery.ui.charts import best_so_far, fitness_chart
from discovery.ui.curves import CurveSource, plot
from tests.archive_factory import proposal, seed_candidates


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


def test_best_so_far_never_decreases_and_ignores_unscored() -> None:
    candidates = [*seed_candidates("r"), *(proposal("r", i, i + 1, [], None) for i in range(12))]
    line = best_so_far(candidates)
    assert [g for g, _ in line] == sorted({c.generation for c in candidates if c.status.value == "scored"})
    assert all(a <= b for (_, a), (_, b) in itertools.pairwise(line))
    assert line[-1][1] == max(c.fitness for c in candidates if c.fitness is not None)
    assert fitness_chart([c for c in candidates if c.status.value != "scored"], 60, 10) is None
