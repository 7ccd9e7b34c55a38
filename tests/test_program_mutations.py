"""The built-in proposer's program mutations: every child passes the static gate, chains of them too,
and each operator changes what its thought says it changed."""

import ast
import random
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.objectives import PARAMETERS, load_objective, shipped_names
from discovery.objectives.compile import compile_objective
from discovery.objectives.gate import check_source
from discovery.proposers.expressions import PRELUDE, RAMPS, SQUASHING
from discovery.proposers.mutations import Draft, Parent
from discovery.proposers.program_mutations import (
    ALL_MOVES,
    PROGRAM_MOVES,
    crossover,
    delete_subexpression,
    insert_subexpression,
    perturb_constant,
    replace_subexpression,
    simplify_program,
    swap_operator,
)
from discovery.proposers.splice import knobs, loss_function, number

SHIPPED = [Parent(f"seed-{name}", name, load_objective(name).source, "", 0.5) for name in shipped_names()]
QUOTED = re.compile(r"`([^`]+)`")
IMPORTS = "import torch\nimport torch.nn.functional as F\n\n\n"
SIGNATURE = f"def loss({', '.join(PARAMETERS)}):"


def shipped(name: str) -> Parent:
    return next(parent for parent in SHIPPED if parent.name == name)


def child_of(draft: Draft) -> Parent:
    return Parent(f"child-{draft.name}", draft.name, draft.code, draft.thought, 0.5)


def returned(code: str) -> str:
    """The loss's returned expression, as `ast.unparse` writes it."""
    final = loss_function(code).body[-1]
    assert isinstance(final, ast.Return) and final.value is not None
    return ast.unparse(final.value)


def body(code: str) -> str:
    return ast.unparse(loss_function(code))


def losses(code: str, beta: float = 0.1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(7)
    reference = -(30 + 60 * torch.rand(2, 64, generator=generator, dtype=torch.float64))
    policy = reference + 3 * torch.randn(2, 64, generator=generator, dtype=torch.float64)
    return compile_objective(code)(policy[0], policy[1], reference[0], reference[1], beta)


def gradients(code: str) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(8)
    reference = -(30 + 60 * torch.rand(2, 64, generator=generator))
    chosen, rejected = (reference + 3 * torch.randn(2, 64, generator=generator)).unbind()
    chosen.requires_grad_(True)
    rejected.requires_grad_(True)
    values = compile_objective(code)(chosen, rejected, reference[0], reference[1], 0.1)
    grads = torch.autograd.grad(values.sum(), (chosen, rejected), allow_unused=True)
    zero = torch.zeros(64)
    return grads[0] if grads[0] is not None else zero, grads[1] if grads[1] is not None else zero


def drafts(operator, parent: Parent, count: int = 40) -> list[Draft]:
    """The drafts `operator` makes from `parent` over `count` seeds (where it applies)."""
    made = []
    for seed in range(count):
        try:
            made.append(operator(random.Random(seed), parent))
        except ValueError:
            continue
    return made


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(1, 5))
def test_every_child_and_every_chain_of_children_passes_the_gate(seed: int, length: int) -> None:
    rng = random.Random(seed)
    parent = rng.choice(SHIPPED)
    for _ in range(length):
        move = rng.choices(ALL_MOVES, weights=[move.weight for move in ALL_MOVES])[0]
        others = rng.sample(SHIPPED, move.arity - 1)
        try:
            draft = move.apply(rng, parent, *others)
        except ValueError:  # the move does not apply to this parent
            continue
        assert check_source(draft.code) == [], draft.code
        assert draft.name == re.sub(r"[^a-z0-9_]", "", draft.name) and draft.thought
        parent = child_of(draft)


@pytest.mark.parametrize(
    "move", [move for move in PROGRAM_MOVES if move.name != "simplify"], ids=lambda move: move.name
)
def test_each_program_mutation_applies_to_most_shipped_objectives(move) -> None:
    """So that the gate property above is not met by moves that never apply (simplify aside: shipped
    objectives are simple already; it tidies what the other mutations leave behind)."""
    rng = random.Random(0)
    applied = 0
    for parent in SHIPPED:
        try:
            move.apply(rng, parent, *[other for other in SHIPPED if other is not parent][: move.arity - 1])
            applied += 1
        except ValueError:
            continue
    assert applied >= len(SHIPPED) // 2


def test_replace_puts_the_drawn_expression_where_the_thought_says() -> None:
    parent = shipped("ipo")
    children = drafts(replace_subexpression, parent)
    assert len(children) >= 30
    for child in children:
        old, new = QUOTED.findall(child.thought)[:2]
        assert child.thought.startswith("From ipo: replaced")
        assert old in body(parent.code) and new in body(child.code) and child.code != parent.code


def test_insertion_adds_a_weighted_term_with_a_knob_retune_can_move() -> None:
    parent = shipped("dpo")
    prelude = "\n".join(f"    {name} = {value}" for name, value in PRELUDE)
    checked = 0
    for child in drafts(insert_subexpression, parent):
        weight = knobs(loss_function(child.code))["term_weight"]
        assert f"added {weight:g} * `" in child.thought
        if child.thought.endswith("to the loss.") and "..." not in child.thought:
            term = QUOTED.findall(child.thought)[0]
            term_code = f"{IMPORTS}{SIGNATURE}\n{prelude}\n    return {term}\n"
            expected = losses(parent.code) + weight * losses(term_code)
            torch.testing.assert_close(losses(child.code), expected)
            checked += 1
    assert checked >= 10


def test_deletion_leaves_a_smaller_loss_holding_what_the_thought_says() -> None:
    parent = shipped("nca")
    children = drafts(delete_subexpression, parent)
    assert children
    size = len(list(ast.walk(loss_function(parent.code))))
    for child in children:
        kept = QUOTED.findall(child.thought)[1]
        assert kept in body(child.code) and len(list(ast.walk(loss_function(child.code)))) < size


def test_perturbing_moves_exactly_one_number_by_at_most_about_a_factor_of_two() -> None:
    parent = shipped("discopop")

    def numbers(code: str) -> list[float]:
        return [value for node in ast.walk(loss_function(code)) if (value := number(node)) is not None]

    for child in drafts(perturb_constant, parent):
        before, after = numbers(parent.code), numbers(child.code)
        changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
        assert len(changed) == 1
        old, new = changed[0]
        assert 1.05 < max(new / old, old / new) < 2.1 and f"the constant {old:g}" in child.thought


def test_swaps_stay_within_a_kind_and_never_swap_logsigmoid_for_its_own_reflection() -> None:
    ramps = {name for _, name in RAMPS} | {"logsigmoid"}
    squashing = {name for _, name in SQUASHING}
    dpo_children = drafts(swap_operator, shipped("dpo"))
    assert dpo_children
    for child in dpo_children:
        (call,) = re.findall(r"(?:torch|F)\.(\w+)\(", returned(child.code))
        assert call in ramps - {"logsigmoid", "softplus"} and child.name == f"dpo_{call}"
    for child in drafts(swap_operator, shipped("apo_zero")):
        assert set(re.findall(r"(?:torch|F)\.(\w+)\(", returned(child.code))) <= squashing
    slic_swaps = {returned(child.code) for child in drafts(swap_operator, shipped("slic"))}
    assert "torch.relu(1 + beta * rho)" in slic_swaps  # a binary operator swapped


def test_crossover_takes_a_subexpression_of_each_parent() -> None:
    first, second = shipped("slic"), shipped("apo_zero")
    children = []
    for seed in range(40):
        try:
            children.append(crossover(random.Random(seed), first, second))
        except ValueError:
            continue
    assert len(children) >= 30
    for child in children:
        replaced, given = QUOTED.findall(child.thought)
        assert replaced in body(first.code) and given in body(second.code)
        assert given in body(child.code) and child.parents == (first, second)
        assert child.name == "cross_slic_apo_zero"


def test_simplify_keeps_the_value_and_says_what_it_removed() -> None:
    cluttered = Parent(
        "g1-c0",
        "cluttered",
        """import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    z = 1 * (beta * rho) + 0
    return -(-(2 * 0.25 * -F.logsigmoid(z) ** 1)) + z * 0.1 - -(0.3 * rho / 1)
""",
        "",
        0.5,
    )
    child = simplify_program(random.Random(0), cluttered)
    assert returned(child.code) == "0.5 * -F.logsigmoid(z) + z * 0.1 + 0.3 * rho"
    assert "z = beta * rho" in child.code and child.name == "cluttered_simplified"
    assert "2 * 0.25 -> 0.5" in child.thought
    torch.testing.assert_close(losses(child.code), losses(cluttered.code))
    with pytest.raises(ValueError, match="nothing to simplify"):
        simplify_program(random.Random(0), child_of(child))


def test_mutations_of_a_margin_loss_reach_losses_that_treat_each_answer_on_its_own() -> None:
    """DPO's loss depends on the margin alone (its two gradients cancel); a search that can only
    reshape the margin never leaves that family."""
    one_sided = 0
    for operator in (replace_subexpression, insert_subexpression):
        for child in drafts(operator, shipped("dpo")):
            chosen, rejected = gradients(child.code)
            one_sided += not torch.allclose(chosen, -rejected, atol=1e-6)
    assert one_sided >= 20
