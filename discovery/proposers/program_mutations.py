"""The built-in proposer's mutations of the program itself: replace, insert or delete a subexpression,
perturb a constant, swap an operator or a function for one of its kind, cross two parents over, or
simplify.

Where the classic moves (`mutations.MOVES`) reshape a function of the margin, these edit the loss
body as code, from the vocabulary of `expressions`: per-answer signals, loss shapes and functions the
allow-list names, so every child passes the static gate by construction and the sandbox only has
to judge how it trains. Each draft is named after its parent and the change, and its thought says
what changed, in code.
"""

import ast
import copy
import math
import random
from dataclasses import replace
from typing import TypeVar

from discovery.proposers.expressions import (
    KINDS,
    PRELUDE,
    RAMPS,
    REFLECTED_RAMP,
    REFLECTION_OF,
    SWAPPED_OPERATORS,
    Program,
    build,
    call_name,
    draw_signal,
    draw_term,
    shown,
    simplify,
    unary_argument,
)
from discovery.proposers.mutations import MOVES, Draft, Move, Parent, root
from discovery.proposers.splice import Splicer, constant, number, render

T = TypeVar("T")
_CLASSIC_SHARE = 0.3  # of the draws under `operators: all`, those that go to the classic moves
_ROOT_INSERTION = 0.5  # share of insertions that add a term to the whole loss rather than inside it


def _prelude(splicer: Splicer) -> Splicer:
    """`splicer` with the `PRELUDE` lines the drawn signals read."""
    for name, value in PRELUDE:
        splicer.assign(name, value)
    return splicer


def _open(parent: Parent, splicer: Splicer | None = None) -> Program:
    """The parent's body after the `PRELUDE`, ready to change."""
    splicer = _prelude(splicer or Splicer())
    fixed = len(splicer.statements)
    result = splicer.inline(parent.code)
    return Program(splicer.statements, result, fixed)


def _draft(name: str, thought: str, program: Program, *parents: Parent) -> Draft:
    """The child, unless the change made it larger than a mutation may (then ValueError)."""
    if program.too_large():
        raise ValueError("the child would be too large")
    return Draft(name, thought, render(thought, program.statements, program.result), parents)


def _choice(rng: random.Random, options: list[T], what: str) -> T:
    if not options:
        raise ValueError(f"nothing to {what}")
    return rng.choice(options)


def replace_subexpression(rng: random.Random, a: Parent) -> Draft:
    """A subexpression replaced by a drawn signal, or by a loss shape of one."""
    program = _open(a)
    site = _choice(rng, program.sites(), "replace")
    if rng.random() < 0.5:
        new, signal = draw_signal(rng)
        description = signal.description
    else:
        new, signal, description = draw_term(rng)
    if ast.dump(new) == ast.dump(site):
        raise ValueError("the replacement is what was there")
    thought = f"From {a.name}: replaced `{shown(site)}` with `{shown(new)}`, {description}."
    program.replace(site, new)
    return _draft(f"{root(a.name)}_{signal.label}", thought, program, a)


def insert_subexpression(rng: random.Random, a: Parent) -> Draft:
    """A weighted loss shape of a drawn signal added to the whole loss or to a subexpression."""
    splicer = Splicer()
    value = float(f"{math.exp(rng.uniform(math.log(0.1), math.log(1.0))):.3g}")
    weight = splicer.assign("term_weight", constant(value))  # named, so that `retune` can find it
    program = _open(a, splicer)
    site = program.result if rng.random() < _ROOT_INSERTION else _choice(rng, program.sites(), "insert into")
    term, signal, description = draw_term(rng)
    thought = (
        f"From {a.name}: added {value:g} * `{shown(term)}`, {description}, "
        f"to {'the loss' if site is program.result else f'`{shown(site)}`'}."
    )
    program.replace(site, build("X + W * T", X=site, W=ast.Name(weight, ast.Load()), T=term))
    return _draft(f"{root(a.name)}_plus_{signal.label}", thought, program, a)


def delete_subexpression(rng: random.Random, a: Parent) -> Draft:
    """A binary operation cut to one operand, or an element-wise function removed around its argument."""
    program = _open(a)
    options: list[tuple[ast.expr, ast.expr]] = []
    for site in program.sites():
        if isinstance(site, ast.BinOp) and isinstance(site.op, tuple(SWAPPED_OPERATORS)):
            options.append((site, site.left))
            if isinstance(site.op, ast.Add | ast.Mult):
                options.append((site, site.right))
        elif (argument := unary_argument(site)) is not None:
            options.append((site, argument))
    per_pair = [(site, kept) for site, kept in options if program.scalar(site) or not program.scalar(kept)]
    site, kept = _choice(rng, per_pair, "delete")
    thought = f"From {a.name}: deleted part of `{shown(site)}`, leaving `{shown(kept)}`."
    program.replace(site, kept)
    return _draft(f"{root(a.name)}_pruned", thought, program, a)


def perturb_constant(rng: random.Random, a: Parent) -> Draft:
    """One number in the body moved by 10% to a factor of two (a zero moved off zero)."""
    program = _open(a)
    site = _choice(rng, [site for site in program.sites() if number(site) is not None], "perturb")
    old = number(site)
    assert old is not None
    new = old * math.exp(rng.choice((-1, 1)) * rng.uniform(0.1, 0.7)) if old else rng.uniform(0.05, 0.5)
    new_node = constant(new)
    where = shown(_root_holding(program, site))
    thought = f"From {a.name}: the constant {old:g} in `{where}` became {shown(new_node)}."
    program.replace(site, new_node)
    return _draft(f"{root(a.name)}_perturbed", thought, program, a)


def _root_holding(program: Program, site: ast.expr) -> ast.expr:
    """The smallest root expression of the program that holds `site` (for a thought)."""
    return next(r for r in program.roots() if any(node is site for node in ast.walk(r)))


def swap_operator(rng: random.Random, a: Parent) -> Draft:
    """`+` for `-`, `* c` for `/ c`, or a function for another of its kind (squashing or ramp; a
    log-sigmoid counts as a reflected softplus, so it swaps with reflected ramps)."""
    program = _open(a)
    options: list[tuple[ast.expr, ast.expr, str]] = []
    for site in program.sites():
        scaling = (
            isinstance(site, ast.BinOp)
            and isinstance(site.op, ast.Mult | ast.Div)
            and number(site.right) is not None
        )
        if isinstance(site, ast.BinOp) and (isinstance(site.op, ast.Add | ast.Sub) or scaling):
            swapped = ast.BinOp(site.left, SWAPPED_OPERATORS[type(site.op)](), site.right)
            options.append((site, swapped, "swapped"))
        elif (argument := unary_argument(site)) is not None:
            options.extend((site, new, label) for new, label in _swapped_functions(site, argument))
    site, new, label = _choice(rng, options, "swap")
    thought = f"From {a.name}: swapped `{shown(site)}` for `{shown(new)}`."
    program.replace(site, new)
    return _draft(f"{root(a.name)}_{label}", thought, program, a)


def _swapped_functions(call: ast.expr, argument: ast.expr) -> list[tuple[ast.expr, str]]:
    """Calls that can stand in for `call` (one argument), each with the new function's name."""
    _, name = call_name(call) or ("", "")
    found = [
        (build(f"{space}.{other}(X)", X=argument), other)
        for kind in KINDS
        if name in _names(kind)
        for space, other in kind
        if other != name
    ]
    reflected_space, reflected = REFLECTED_RAMP
    if name == reflected:
        found += [
            (build(f"-{space}.{other}(-X)", X=argument), other)
            for space, other in RAMPS
            if other != REFLECTION_OF
        ]
    elif name in _names(RAMPS) and name != REFLECTION_OF:
        found.append((build(f"-{reflected_space}.{reflected}(-X)", X=argument), reflected))
    return found


def _names(kind: tuple[tuple[str, str], ...]) -> set[str]:
    return {name for _, name in kind}


def crossover(rng: random.Random, a: Parent, b: Parent) -> Draft:
    """A subexpression of `a` replaced by one of `b` (with the lines of `b` it reads)."""
    splicer = _prelude(Splicer())
    start = len(splicer.statements)
    donor_result = splicer.inline(b.code)
    donor = Program(splicer.statements[start:], donor_result)
    split = len(splicer.statements)
    recipient = Program(splicer.statements[split:], splicer.inline(a.code))
    structural = [site for site in donor.sites() if not isinstance(site, ast.Name) and number(site) is None]
    given = _choice(rng, structural, "take from the second parent")
    site = _choice(rng, recipient.sites(), "replace in the first parent")
    if ast.dump(given) == ast.dump(site):
        raise ValueError("the donated subexpression is what was there")
    program = Program(splicer.statements, recipient.result)
    thought = f"Crossover: {a.name} with `{shown(site)}` replaced by `{shown(given)}` from {b.name}."
    program.replace(site, copy.deepcopy(given))
    return _draft(f"cross_{root(a.name)}_{root(b.name)}", thought, program, a, b)


def simplify_program(rng: random.Random, a: Parent) -> Draft:
    """Constants folded and identities dropped (`x * 1`, `x + 0`, `--x`): the same loss, shorter."""
    program = _open(a)
    changes = simplify(program)
    if not changes:
        raise ValueError(f"{a.name} has nothing to simplify")
    thought = f"{a.name}, simplified: {'; '.join(changes[:4])}."
    return _draft(f"{root(a.name)}_simplified", thought, program, a)


PROGRAM_MOVES: tuple[Move, ...] = (
    Move("insert_subexpression", 1, 0.16, insert_subexpression),
    Move("replace_subexpression", 1, 0.14, replace_subexpression),
    Move("swap_operator", 1, 0.12, swap_operator),
    Move("crossover", 2, 0.1, crossover),
    Move("perturb_constant", 1, 0.08, perturb_constant),
    Move("delete_subexpression", 1, 0.06, delete_subexpression),
    Move("simplify", 1, 0.04, simplify_program),
)
# `operators: all`: the program mutations, and the classic moves in their old proportions.
ALL_MOVES: tuple[Move, ...] = (
    *PROGRAM_MOVES,
    *(replace(move, weight=move.weight * _CLASSIC_SHARE) for move in MOVES),
)
OPERATOR_SETS: dict[str, tuple[Move, ...]] = {"all": ALL_MOVES, "classic": MOVES}
