"""Source surgery for the built-in proposer: inline archive objectives into one new `loss` body.

A parent's `loss` body is copied statement by statement into the new function. Its local names
are kept where they are free and renamed where they clash, its parameters can be redirected (to a
rescaled `beta`, a shifted log-probability), and an assignment whose value the new body already
computes (the `rho = ...` and `z = beta * rho` lines every objective starts with) is shared rather
than repeated, so a blend of two objectives reads like code a person would write.
"""

import ast
import builtins
import copy
import re
import textwrap

from discovery.objectives.contract import FUNCTION_NAME, PARAMETERS
from discovery.objectives.gate import check_source

# Module names generated code may refer to, and the import statement that binds each.
_MODULES = {"math": "import math", "torch": "import torch", "F": "import torch.nn.functional as F"}


class NotSpliceable(ValueError):
    """The parent's code has a shape this module does not rewrite (it is then not used as a parent)."""


def loss_function(source: str) -> ast.FunctionDef:
    """The `loss` definition of a source that passed the static gate."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == FUNCTION_NAME:
            return node
    raise NotSpliceable(f"no top-level `{FUNCTION_NAME}`")


def knobs(function: ast.FunctionDef) -> dict[str, float]:
    """Named numeric constants assigned once at the top level of the body (`tau = 0.05`)."""
    found: dict[str, float] = {}
    for statement in function.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], number(statement.value)
            if isinstance(target, ast.Name) and value is not None and target.id not in found:
                found[target.id] = value
    return found


def set_knobs(function: ast.FunctionDef, values: dict[str, float]) -> ast.FunctionDef:
    """A copy of `function` with the named constants given new values."""
    function = copy.deepcopy(function)
    for statement in function.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name) and target.id in values:
                statement.value = constant(values[target.id])
    return function


def constant(value: float) -> ast.expr:
    """A readable literal: three significant digits, negatives as a unary minus."""
    rounded = float(f"{value:.3g}")
    literal = ast.Constant(abs(rounded))
    return ast.UnaryOp(ast.USub(), literal) if rounded < 0 else literal


def number(node: ast.expr) -> float | None:
    """The value of a numeric literal (`0.5`, `-2`), or None for anything else."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = number(node.operand)
        return None if inner is None else -inner
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return float(node.value)
    return None


class Splicer:
    """Builds the body of one new `loss` out of parents' bodies and new statements."""

    def __init__(self) -> None:
        self.statements: list[ast.stmt] = []
        self._taken = set(PARAMETERS) | set(_MODULES) | set(dir(builtins))
        # Names whose value never changes once assigned: only expressions over these are shared.
        self._stable = set(PARAMETERS) | set(_MODULES) | set(dir(builtins))
        self._shared: dict[str, str] = {}  # ast.dump of a value -> the name that holds it

    def fresh(self, base: str) -> str:
        """`base`, or `base_2`, `base_3`, ... if taken; the name is then reserved."""
        stem = re.sub(r"_[0-9]+$", "", base) or base  # "loss_2" clashes as "loss_3", not "loss_2_2"
        name, suffix = base, 2
        while name in self._taken:
            name, suffix = f"{stem}_{suffix}", suffix + 1
        self._taken.add(name)
        return name

    def assign(self, base: str, value: ast.expr | str) -> str:
        """Emit `name = value`, or reuse the name of an identical earlier assignment; return the name."""
        if isinstance(value, str):
            value = ast.parse(value, mode="eval").body
        loads = {node.id for node in ast.walk(value) if isinstance(node, ast.Name)}
        shareable = loads <= self._stable
        # A bare number is a knob: shared only with a knob of the same name (the same lineage), so that
        # two constants that merely happen to be equal stay two knobs.
        key = f"{base} = {ast.dump(value)}" if number(value) is not None else ast.dump(value)
        if shareable and key in self._shared:
            return self._shared[key]
        name = self.fresh(base)
        self.statements.append(ast.Assign(targets=[ast.Name(name, ast.Store())], value=value, lineno=0))
        if shareable:
            self._stable.add(name)
            self._shared[key] = name
        return name

    def inline(self, source: str, redirect: dict[str, str] | None = None) -> ast.expr:
        """Copy a parent's `loss` body into this one and return the expression it returned.

        `redirect` maps parameter names to names of this body (e.g. `beta` -> `scaled_beta`).
        """
        function = _spliceable_function(source)
        body = function.body[1:] if ast.get_docstring(function) is not None else function.body
        *statements, final = body
        mapping = dict(redirect or {})
        stores = _store_counts(body)
        for statement in statements:
            target = _single_target(statement)
            if target is not None and stores[target] == 1:
                mapping[target] = self.assign(target, _rename(statement.value, mapping))
                continue
            for name in _stored_names(statement):
                if name not in mapping:
                    mapping[name] = self.fresh(name)
            self.statements.append(_rename(statement, mapping))
        assert isinstance(final, ast.Return) and final.value is not None  # checked by _spliceable_function
        return _rename(final.value, mapping)


def render(thought: str, body: list[ast.stmt], result: ast.expr) -> str:
    """Objective source in the shipped format: docstring, the imports it uses, then `loss`.

    Assignments nothing reads (a shared `z` that no parent ended up using) are dropped.
    """
    function = ast.parse(f"def {FUNCTION_NAME}({', '.join(PARAMETERS)}):\n    pass").body[0]
    assert isinstance(function, ast.FunctionDef)
    function.body = [*_without_dead_assignments(body, result), ast.Return(result)]
    return render_function(thought, function)


def render_function(thought: str, function: ast.FunctionDef) -> str:
    """Docstring, the imports `function` needs and the function, formatted like the shipped files."""
    tree = ast.fix_missing_locations(ast.Module(body=[function], type_ignores=[]))
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    imports = [statement for name, statement in _MODULES.items() if name in used]
    if "import math" in imports and len(imports) > 1:
        imports.insert(1, "")  # standard library first, then torch, as isort would
    docstring = textwrap.fill(" ".join(thought.split()).replace("\\", "/").replace('"""', "'''"), width=100)
    head = f'"""{docstring}"""\n\n' + ("\n".join(imports) + "\n\n\n" if imports else "\n")
    return head + ast.unparse(tree) + "\n"


def _spliceable_function(source: str) -> ast.FunctionDef:
    """The `loss` of a parent whose body can be copied; raises `NotSpliceable` otherwise.

    The parent must pass today's static gate (an archive may hold code an older gate let through), so
    its imports bind exactly the names generated code uses and its body holds only allowed syntax.
    """
    violations = check_source(source)
    if violations:
        raise NotSpliceable(f"fails the static gate: {violations[0]}")
    function = loss_function(source)
    body = function.body[1:] if ast.get_docstring(function) is not None else function.body
    if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
        raise NotSpliceable("the body does not end with `return <losses>`")
    for statement in body[:-1]:
        if any(isinstance(node, ast.Return) for node in ast.walk(statement)):
            raise NotSpliceable("returns before its last line")
    if set(_store_counts(body)) & set(PARAMETERS):
        raise NotSpliceable("assigns to a parameter")
    return function


def _without_dead_assignments(body: list[ast.stmt], result: ast.expr) -> list[ast.stmt]:
    """`body` without the single-name assignments nothing reads (repeated: removals free others)."""
    body = list(body)
    while True:
        loaded = {
            node.id
            for part in [*body, result]
            for node in ast.walk(part)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        }
        kept = [s for s in body if _single_target(s) is None or _single_target(s) in loaded]
        if len(kept) == len(body):
            return kept
        body = kept


def spliceable(source: str) -> bool:
    """Whether `Splicer.inline` can copy this objective."""
    try:
        _spliceable_function(source)
    except NotSpliceable:
        return False
    return True


def _single_target(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        if isinstance(target, ast.Name):
            return target.id
    return None


def _stored_names(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]


def _store_counts(body: list[ast.stmt]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for statement in body:
        for name in _stored_names(statement):
            counts[name] = counts.get(name, 0) + 1
    return counts


class _Renamer(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(self.mapping.get(node.id, node.id), node.ctx)


def _rename(node: ast.AST, mapping: dict[str, str]):
    return _Renamer(mapping).visit(copy.deepcopy(node))
