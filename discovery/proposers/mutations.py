"""The built-in proposer's classic moves: each turns one or two archive objectives into new objective source.

Every move keeps the new loss a positive combination of losses that fall as the chosen answer
gains on the rejected one, so the child stays pointed the right way (the proposer still screens
it numerically). Constants a move introduces are named (`mix`, `tau`, `margin`, ...) so that a
later `retune` of the child can find and change them.
"""

import ast
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from discovery.proposers.naming import snake_case
from discovery.proposers.splice import (
    Splicer,
    constant,
    knobs,
    loss_function,
    render,
    render_function,
    set_knobs,
)

_RHO = "(policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)"
# Name parts that describe a move rather than an idea; dropped when a child is named after a parent.
_MOVE_WORDS = {
    "blend",
    "modulated",
    "margin",
    "scaled",
    "plus",
    "tuned",
    "exp",
    "hinge",
    "logistic",
    "squared",
    # and the program mutations' (`program_mutations`)
    "cross",
    "pruned",
    "perturbed",
    "swapped",
    "simplified",
}


@dataclass(frozen=True)
class Parent:
    """An archive objective a move may start from."""

    id: str
    name: str
    code: str
    thought: str
    fitness: float | None


@dataclass(frozen=True)
class Draft:
    """A new objective before screening: its proposed name, idea, source and parents."""

    name: str
    thought: str
    code: str
    parents: tuple[Parent, ...]


@dataclass(frozen=True)
class Move:
    """A named move with how many parents it takes and how often it is tried."""

    name: str
    arity: int
    weight: float
    apply: Callable[..., Draft]


def _knob(splicer: Splicer, name: str, value: float) -> tuple[str, float]:
    """Emit `name = value` (three significant digits) and return the name and the rounded value."""
    rounded = float(f"{value:.3g}")
    return splicer.assign(name, constant(rounded)), rounded


def _margin_z(splicer: Splicer) -> str:
    """The shared `rho` and `z = beta * rho` lines; returns the name of z."""
    rho = splicer.assign("rho", _RHO)
    return splicer.assign("z", f"beta * {rho}")


def _loss_of(splicer: Splicer, parent: Parent, redirect: dict[str, str] | None = None) -> str:
    """Inline a parent and keep its per-pair losses under `<parent name>_loss` (short names only)."""
    label = snake_case(parent.name if len(parent.name) <= 28 else root(parent.name))
    return splicer.assign(f"{label}_loss", splicer.inline(parent.code, redirect))


def blend(rng: random.Random, a: Parent, b: Parent) -> Draft:
    """A fixed convex mix of two objectives."""
    splicer = Splicer()
    mix, value = _knob(splicer, "mix", rng.uniform(0.2, 0.8))
    _margin_z(splicer)
    first, second = _loss_of(splicer, a), _loss_of(splicer, b)
    result = ast.parse(f"{mix} * {first} + (1 - {mix}) * {second}", mode="eval").body
    thought = (
        f"A fixed blend of {a.name} and {b.name}: {value:g} of {a.name} plus {1 - value:.3g} of {b.name}, "
        f"so that each pair is pushed by both shapes at once and the better parts of the two combine."
    )
    return Draft(_pair_name("blend", a, b), thought, render(thought, splicer.statements, result), (a, b))


def modulate(rng: random.Random, a: Parent, b: Parent) -> Draft:
    """A per-pair mix whose weight follows the margin itself, as DiscoPOP mixes its two losses."""
    splicer = Splicer()
    tau, value = _knob(splicer, "tau", math.exp(rng.uniform(math.log(0.02), math.log(2.0))))
    z = _margin_z(splicer)
    first, second = _loss_of(splicer, a), _loss_of(splicer, b)
    weight = splicer.assign("modulation", f"torch.sigmoid({z} / {tau})")
    result = ast.parse(f"(1 - {weight}) * {first} + {weight} * {second}", mode="eval").body
    thought = (
        f"Log-ratio modulated mix in the spirit of DiscoPOP: the weight sigmoid(z / tau), tau = {value:g}, "
        f"moves each pair from {a.name} while the policy still gets it wrong (z < 0) to {b.name} once it "
        f"gets it right (z > 0), so each loss acts where its shape helps most."
    )
    code = render(thought, splicer.statements, result)
    return Draft(_pair_name("modulated", a, b), thought, code, (a, b))


def add_margin(rng: random.Random, a: Parent) -> Draft:
    """The parent asked to win by a margin: z becomes z - margin."""
    splicer = Splicer()
    margin, value = _knob(splicer, "margin", rng.uniform(0.1, 1.5))
    raised = splicer.assign("raised_reference_chosen", f"reference_chosen_logps + {margin} / beta")
    result = splicer.inline(a.code, {"reference_chosen_logps": raised})
    thought = (
        f"{a.name} with a target margin: every z = beta * rho becomes z - {value:g}, so a pair keeps being "
        f"pushed until the chosen answer leads the rejected one by the margin, not merely ties it."
    )
    return Draft(f"{root(a.name)}_margin", thought, render(thought, splicer.statements, result), (a,))


def rescale_beta(rng: random.Random, a: Parent) -> Draft:
    """The parent at another temperature: beta multiplied by a scale."""
    splicer = Splicer()
    factor = math.exp(rng.choice((-1, 1)) * rng.uniform(math.log(1.3), math.log(3.0)))
    scale, value = _knob(splicer, "scale", factor)
    scaled = splicer.assign("scaled_beta", f"{scale} * beta")
    result = splicer.inline(a.code, {"beta": scaled})
    effect = "sharper: it saturates sooner" if value > 1 else "softer: it keeps pushing on pairs already won"
    thought = f"{a.name} at a different temperature, beta scaled by {value:g}, which makes the loss {effect}."
    return Draft(f"{root(a.name)}_scaled", thought, render(thought, splicer.statements, result), (a,))


# name, expression over z with the knobs it needs, what it does
_TAILS: tuple[tuple[str, str, str], ...] = (
    ("exp", "torch.exp(-{z})", "the exponential tail exp(-z), which keeps pushing on pairs already won"),
    ("logistic", "-F.logsigmoid({z})", "the logistic loss -log sigmoid(z), DPO's smooth pull"),
    ("hinge", "torch.relu({hinge_margin} - {z})", "a hinge relu(m - z) that stops at the margin m"),
    (
        "squared_hinge",
        "torch.relu({hinge_margin} - {z}) ** 2",
        "a squared hinge that pulls hardest on bad pairs",
    ),
)


def add_tail(rng: random.Random, a: Parent) -> Draft:
    """The parent plus a weighted extra term in z: exponential, logistic or hinge with a margin."""
    splicer = Splicer()
    tail_name, template, description = rng.choice(_TAILS)
    weight, weight_value = _knob(splicer, "tail_weight", math.exp(rng.uniform(math.log(0.1), math.log(1.0))))
    fields = {}
    if "{hinge_margin}" in template:
        fields["hinge_margin"], margin_value = _knob(splicer, "hinge_margin", rng.uniform(0.2, 2.0))
        description = description.replace(" m", f" m = {margin_value:g}", 1)
    z = _margin_z(splicer)
    base = _loss_of(splicer, a)
    tail = splicer.assign(f"{tail_name}_tail", template.format(z=z, **fields))
    result = ast.parse(f"{base} + {weight} * {tail}", mode="eval").body
    thought = (
        f"{a.name} plus {weight_value:g} times {description}, to reshape how it treats easy and hard pairs."
    )
    code = render(thought, splicer.statements, result)
    return Draft(f"{root(a.name)}_plus_{tail_name}", thought, code, (a,))


def retune(rng: random.Random, a: Parent) -> Draft:
    """The parent with some of its named constants moved by up to about a factor of two."""
    function = loss_function(a.code)
    current = {name: value for name, value in knobs(function).items() if value != 0}
    if not current:
        raise ValueError(f"{a.name} has no named constants to retune")
    chosen = [name for name in current if rng.random() < 0.5] or [rng.choice(sorted(current))]
    values: dict[str, float] = {}
    for name in chosen:
        old = current[name]
        new = old * math.exp(rng.choice((-1, 1)) * rng.uniform(0.1, 0.7))
        if 0 < old < 1 and name.startswith("mix"):
            new = min(max(new, 0.02), 0.98)  # a mixing weight stays a weight
        values[name] = float(f"{new:.3g}")
    changes = ", ".join(f"{name} {current[name]:g} -> {values[name]:g}" for name in chosen)
    idea = re.sub(r"^Retuned from \S+ \([^)]*\)\. ", "", " ".join(a.thought.split()))
    thought = f"Retuned from {a.name} ({changes}). {idea}"
    code = render_function(thought, set_knobs(function, values))
    return Draft(f"{re.sub(r'(_tuned)?(_[0-9]+)?$', '', a.name)}_tuned", thought, code, (a,))


MOVES: tuple[Move, ...] = (
    Move("modulate", 2, 0.25, modulate),
    Move("blend", 2, 0.2, blend),
    Move("add_tail", 1, 0.2, add_tail),
    Move("add_margin", 1, 0.15, add_margin),
    Move("retune", 1, 0.1, retune),
    Move("rescale_beta", 1, 0.1, rescale_beta),
)


def _pair_name(move: str, a: Parent, b: Parent) -> str:
    roots = dict.fromkeys([root(a.name), root(b.name)])  # "blend_dpo", not "blend_dpo_dpo"
    return "_".join([move, *roots])


def root(name: str) -> str:
    """The ideas a name refers to, without the words moves add: "blend_dpo_slic_2" -> "dpo_slic"."""
    parts = [part for part in name.split("_") if part and part not in _MOVE_WORDS and not part.isdigit()]
    return "_".join(parts[:2]) if parts else name.split("_")[0] or "objective"
