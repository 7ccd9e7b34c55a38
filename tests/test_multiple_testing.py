"""Holm's correction, which decides what a run confirms among the k proposals it tests at once."""

import pytest

from discovery.fitness import holm


def test_holm_multiplies_the_sorted_p_values_by_k_k_minus_1_and_keeps_them_monotone():
    # sorted: 0.005 x 4, 0.01 x 3, 0.03 x 2, 0.04 x 1 (raised to the 0.06 before it)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_a_p_value_below_alpha_alone_is_not_below_it_among_three():
    raw = [0.02, 0.5, 0.9]
    assert holm(raw)[0] == pytest.approx(0.06)  # 3 x 0.02: no longer below 0.05
    assert holm([0.02]) == [0.02]  # one test: nothing to correct


def test_adjusted_values_never_exceed_one():
    assert holm([0.6, 0.7]) == [1.0, 1.0]
