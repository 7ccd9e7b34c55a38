"""Holm's correction, which decides what a run confirms among the k proposals it tests at once."""

import pytest

from discovery.fitness import holm
from discovery.transfer import ALPHA, confirmation_seeds


def test_holm_multiplies_the_sorted_p_values_by_k_k_minus_1_and_keeps_them_monotone():
    # sorted: 0.005 x 4, 0.01 x 3, 0.03 x 2, 0.04 x 1 (raised to the 0.06 before it)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_a_p_value_below_alpha_alone_is_not_below_it_among_three():
    raw = [0.02, 0.5, 0.9]
    assert holm(raw)[0] == pytest.approx(0.06)  # 3 x 0.02: no longer below 0.05
    assert holm([0.02]) == [0.02]  # one test: nothing to correct


def test_adjusted_values_never_exceed_one():
    assert holm([0.6, 0.7]) == [1.0, 1.0]


@pytest.mark.parametrize(("variants", "top"), [(1, 1), (1, 2), (2, 2), (3, 2), (1, 5)])
def test_the_default_confirmation_seeds_can_confirm_after_holm_with_one_seed_to_spare(variants, top):
    """With n pairs no sign-flip p is below 2/2**n; Holm multiplies the smallest by `top`."""
    pairs = variants * confirmation_seeds(None, variants, top)
    assert top * 2 / 2**pairs < ALPHA  # all agreeing: confirmed
    assert top * 2 / 2 ** (pairs - 1) < ALPHA  # a pair to spare: one seed may go the other way
    assert confirmation_seeds(7, variants, top) == 7  # a chosen count is kept
