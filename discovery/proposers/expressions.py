"""The expressions the built-in proposer's program mutations work with: where a loss body may change,
what may be put there, and how to tidy what results.

Everything built here is made of the objective's parameters, the per-answer log-ratios a mutation
binds first (`PRELUDE`), numbers, arithmetic and calls to functions the allow-list names (checked
when this module loads), so a change to a gate-clean body is gate-clean by construction; whether it
trains the right way is the sandbox's question. The signals drawn for insertion and replacement act
on each answer's log-ratio and log-probability as well as on the margin: the strong objectives that
score each answer on its own are out of reach of changes that only reshape a function of the margin.
"""

import ast
import copy
import math
import random
from dataclasses import dataclass

from discovery.objectives.allowlist import FUNCTIONAL, NAMESPACES, TORCH
from discovery.proposers.splice import constant, number

# Bound before a parent's body, in this order, so that drawn signals can name them (a parent that
# computes the same values shares these lines; unused ones are dropped when the child is rendered).
PRELUDE: tuple[tuple[str, str], ...] = (
    ("chosen_logratios", "policy_chosen_logps - reference_chosen_logps"),
    ("rejected_logratios", "policy_rejected_logps - reference_rejected_logps"),
    (
        "rho",
        "(policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)",
    ),
)


@dataclass(frozen=True)
class Signal:
    """A per-pair quantity that grows as the chosen answer gains on the rejected one."""

    source: str
    label: str  # a word for the child's name
    description: str


SIGNALS: tuple[Signal, ...] = (
    Signal("beta * chosen_logratios", "chosen", "the chosen answer's own reward"),
    Signal("-beta * rejected_logratios", "rejected", "the rejected answer's own reward, negated"),
    Signal("beta * rho", "margin", "the reward margin"),
    Signal("chosen_logratios", "chosen", "the chosen answer's log-ratio"),
    Signal("-rejected_logratios", "rejected", "the rejected answer's log-ratio, negated"),
    Signal("rho", "margin", "the log-ratio margin"),
    Signal("beta * policy_chosen_logps", "chosen_logp", "the policy's log-probability of the chosen answer"),
    Signal(
        "-beta * policy_rejected_logps",
        "rejected_logp",
        "the policy's log-probability of the rejected answer, negated",
    ),
    Signal(
        "beta * (policy_chosen_logps - policy_rejected_logps)",
        "policy_margin",
        "the policy's own margin, without the reference",
    ),
)
# Loss shapes over a signal X that fall as X grows; C is a drawn constant.
SHAPES: tuple[tuple[str, str], ...] = (
    ("-F.logsigmoid(X)", "a logistic pull"),
    ("F.softplus(C - X)", "a logistic pull with an offset"),
    ("torch.exp(-X)", "an exponential pull"),
    ("torch.relu(C - X)", "a hinge"),
    ("1 - torch.sigmoid(X)", "a bounded pull"),
    ("(X - C) ** 2", "a squared pull towards a target"),
    ("-torch.tanh(X)", "a saturating pull"),
)


def _from_allowlist(*spellings: str) -> tuple[tuple[str, str], ...]:
    """(namespace, name) pairs for `torch.x` / `F.x` spellings, each one the allow-list permits."""
    functions = tuple(tuple(spelling.split(".")) for spelling in spellings)
    for namespace, name in functions:
        if name not in NAMESPACES[namespace].names:
            raise ValueError(f"{namespace}.{name} is not in the objective allow-list")
    return functions  # type: ignore[return-value]


# Functions of one argument that can stand in for each other: bounded and rising, or rising without
# bound on one side and flat on the other. F.logsigmoid(x) is -F.softplus(-x): a ramp reflected.
SQUASHING = _from_allowlist("torch.sigmoid", "torch.tanh", "torch.atan", "torch.erf", "F.softsign")
RAMPS = _from_allowlist("F.softplus", "torch.relu", "torch.exp", "torch.expm1", "F.elu", "F.silu", "F.gelu")
REFLECTED_RAMP = _from_allowlist("F.logsigmoid")[0]
REFLECTION_OF = "softplus"  # the ramp whose reflection F.logsigmoid is: swapping the two changes nothing
KINDS = (SQUASHING, RAMPS)
# Calls whose positional arguments are per-pair values a mutation may change.
_ELEMENTWISE = {
    "torch": set(TORCH.groups["elementwise"]) | set(TORCH.groups["arithmetic and comparison"]),
    "F": set(FUNCTIONAL.groups["activations"]),
}
SWAPPED_OPERATORS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
}
# A child past these is not made: far inside the gate's limits on nodes and nesting, so chains of
# mutations stay readable and gate-clean.
MAX_NODES = 600
MAX_DEPTH = 24


def build(template: str, **parts: ast.expr) -> ast.expr:
    """`template` parsed, with each upper-case placeholder replaced by a copy of its part."""
    tree = ast.parse(template, mode="eval").body
    return _Placeholders(parts).visit(tree)


class _Placeholders(ast.NodeTransformer):
    def __init__(self, parts: dict[str, ast.expr]) -> None:
        self.parts = parts

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return copy.deepcopy(self.parts[node.id]) if node.id in self.parts else node


def shown(node: ast.expr, width: int = 80) -> str:
    """An expression as one line of code, shortened for a thought."""
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def call_name(node: ast.expr) -> tuple[str, str] | None:
    """(namespace, name) of a `torch.x(...)` or `F.x(...)` call, else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        owner = node.func.value
        if isinstance(owner, ast.Name) and owner.id in _ELEMENTWISE:
            return owner.id, node.func.attr
    return None


def unary_argument(node: ast.expr) -> ast.expr | None:
    """The argument of an element-wise call with one positional argument and no keywords."""
    name = call_name(node)
    if name is None or name[1] not in _ELEMENTWISE[name[0]]:
        return None
    assert isinstance(node, ast.Call)
    return node.args[0] if len(node.args) == 1 and not node.keywords else None


def draw_signal(rng: random.Random) -> tuple[ast.expr, Signal]:
    signal = rng.choice(SIGNALS)
    return ast.parse(signal.source, mode="eval").body, signal


def draw_term(rng: random.Random) -> tuple[ast.expr, Signal, str]:
    """A loss shape applied to a signal: the expression, the signal, and what the term does."""
    signal_node, signal = draw_signal(rng)
    template, shape = rng.choice(SHAPES)
    offset = constant(rng.uniform(0.1, 2.0))
    term = _Simplifier().visit(build(template, X=signal_node, C=offset))  # `C - -X` reads as `C + X`
    return term, signal, f"{shape} on {signal.description}"


@dataclass
class Program:
    """A loss body being changed in place: its statements and the expression it returns."""

    statements: list[ast.stmt]
    result: ast.expr
    fixed: int = 0  # leading statements no mutation changes (the `PRELUDE` the drawn signals read)

    def roots(self) -> list[ast.expr]:
        """The values of the body's plain assignments after the fixed ones, then the returned expression."""
        values = [
            statement.value
            for statement in self.statements[self.fixed :]
            if isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ]
        return [*values, self.result]

    def sites(self) -> list[ast.expr]:
        """Subexpressions a mutation may change: arithmetic, calls, names and numbers, reached through
        arithmetic and the positional arguments of element-wise calls (never a condition, an index,
        a keyword or an exponent)."""
        found: list[ast.expr] = []
        for root in self.roots():
            _collect(root, found)
        return found

    def replace(self, old: ast.expr, new: ast.expr) -> None:
        """Put `new` where the node `old` (this program's own node) stands."""
        swap = _Swap(old, new)
        self.statements[:] = [swap.visit(statement) for statement in self.statements]
        self.result = swap.visit(self.result)

    def scalar(self, node: ast.expr) -> bool:
        """Whether `node` is a plain number for every pair: it reads only `beta`, numbers and locals
        assigned from those (a function of torch on it would fail; cutting a loss down to it loses
        every pair)."""
        scalars = {"beta", "math"}
        for statement in self.statements:
            if (
                isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and _reads(statement.value) <= scalars
            ):
                scalars.add(statement.targets[0].id)
        return _reads(node) <= scalars

    def too_large(self) -> bool:
        """Whether the body has grown past `MAX_NODES` nodes or `MAX_DEPTH` levels of nesting."""
        stack: list[tuple[ast.AST, int]] = [(part, 0) for part in [*self.statements, self.result]]
        count = 0
        while stack:
            node, depth = stack.pop()
            count += 1
            if count > MAX_NODES or depth > MAX_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
        return False


def _reads(node: ast.expr) -> set[str]:
    return {name.id for name in ast.walk(node) if isinstance(name, ast.Name)}


def _collect(node: ast.expr, found: list[ast.expr]) -> None:
    if isinstance(node, ast.BinOp):
        found.append(node)
        _collect(node.left, found)
        if not isinstance(node.op, ast.Pow):
            _collect(node.right, found)
    elif number(node) is not None:
        found.append(node)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        found.append(node)
        _collect(node.operand, found)
    elif isinstance(node, ast.Call):
        found.append(node)
        name = call_name(node)
        if name is not None and name[1] in _ELEMENTWISE[name[0]]:
            for argument in node.args:
                _collect(argument, found)
    elif isinstance(node, ast.IfExp):
        _collect(node.body, found)
        _collect(node.orelse, found)
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        found.append(node)


class _Swap(ast.NodeTransformer):
    def __init__(self, old: ast.expr, new: ast.expr) -> None:
        self.old, self.new = old, new

    def visit(self, node: ast.AST) -> ast.AST:
        return self.new if node is self.old else super().visit(node)


def simplify(program: Program) -> list[str]:
    """Fold constants and drop `x * 1`, `x + 0`, `x ** 1`, `--x` and the like, in place, keeping the
    value; returns what changed, as `before -> after` lines."""
    simplifier = _Simplifier()
    program.statements[:] = [simplifier.visit(statement) for statement in program.statements]
    program.result = simplifier.visit(program.result)
    return simplifier.changes


class _Simplifier(ast.NodeTransformer):
    def __init__(self) -> None:
        self.changes: list[str] = []

    def _changed(self, before: ast.expr, after: ast.expr) -> ast.expr:
        self.changes.append(f"{shown(before, 50)} -> {shown(after, 50)}")
        return after

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        inner = node.operand
        if isinstance(node.op, ast.UAdd):
            return self._changed(node, inner)
        if (
            isinstance(node.op, ast.USub)
            and isinstance(inner, ast.UnaryOp)
            and isinstance(inner.op, ast.USub)
        ):
            return self._changed(node, inner.operand)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        left, right = number(node.left), number(node.right)
        if left is not None and right is not None:
            folded = _fold(node.op, left, right)
            return node if folded is None else self._changed(node, _exact(folded))
        kept = _identity(node, left, right)
        return node if kept is None else self._changed(node, kept)


def _fold(op: ast.operator, left: float, right: float) -> float | None:
    """`left op right` when it is a finite number worth writing down, else None."""
    if isinstance(op, ast.Add):
        value = left + right
    elif isinstance(op, ast.Sub):
        value = left - right
    elif isinstance(op, ast.Mult):
        value = left * right
    elif isinstance(op, ast.Div) and right != 0:
        value = left / right
    elif isinstance(op, ast.Pow) and left > 0 and abs(right) <= 4:
        value = left**right
    else:
        return None
    return value if math.isfinite(value) and abs(value) < 1e6 else None


def _identity(node: ast.BinOp, left: float | None, right: float | None) -> ast.expr | None:
    """What `node` reduces to when one side is the operation's identity (or a negation), else None."""
    op = node.op
    if (isinstance(op, ast.Mult | ast.Div | ast.Pow) and right == 1) or (
        isinstance(op, ast.Add | ast.Sub) and right == 0
    ):
        return node.left
    if (isinstance(op, ast.Mult) and left == 1) or (isinstance(op, ast.Add) and left == 0):
        return node.right
    if isinstance(op, ast.Sub) and left == 0:
        return ast.UnaryOp(ast.USub(), node.right)
    negated = node.right
    if (
        isinstance(op, ast.Add | ast.Sub)
        and isinstance(negated, ast.UnaryOp)
        and isinstance(negated.op, ast.USub)
    ):
        flipped = ast.Sub() if isinstance(op, ast.Add) else ast.Add()
        return ast.BinOp(node.left, flipped, negated.operand)
    return None


def _exact(value: float) -> ast.expr:
    """A literal of exactly `value` (no rounding: simplifying must not change the loss)."""
    literal = ast.Constant(abs(value))
    return ast.UnaryOp(ast.USub(), literal) if value < 0 else literal
