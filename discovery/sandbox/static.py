"""The static gate: reject objective source by reading it, before any of it runs.

First version: structure of the contract (one top-level `loss` function with the five parameters)
and the import whitelist. The sandbox work extends this with the full rule set.
"""

import ast
import builtins
from dataclasses import dataclass

from discovery.objectives.contract import ALLOWED_IMPORTS, FUNCTION_NAME, PARAMETERS

_SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "isinstance", "len", "list", "max",
    "min", "pow", "range", "reversed", "round", "sorted", "sum", "tuple", "zip", "ValueError",
)  # fmt: skip


@dataclass(frozen=True)
class Violation:
    """One broken rule, with the line it was found on (0 when it concerns the whole file)."""

    line: int
    rule: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.rule}" if self.line else self.rule


def check_source(source: str) -> list[Violation]:
    """Return every rule the source breaks; an empty list means it may be executed."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        return [Violation(error.lineno or 0, f"syntax error: {error.msg}")]
    violations: list[Violation] = []
    functions = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions.append(node)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            violations.extend(_check_import(node))
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            violations.append(Violation(node.lineno, "only imports, a docstring and one function may stand at top level"))
    if len(functions) != 1 or functions[0].name != FUNCTION_NAME:
        names = ", ".join(f.name for f in functions) or "none"
        violations.append(Violation(0, f"define exactly one top-level function named `{FUNCTION_NAME}` (found: {names})"))
    else:
        arguments = [a.arg for a in functions[0].args.args]
        if tuple(arguments) != PARAMETERS:
            violations.append(
                Violation(functions[0].lineno, f"`{FUNCTION_NAME}` must take ({', '.join(PARAMETERS)})")
            )
    return violations


def _check_import(node: ast.Import | ast.ImportFrom) -> list[Violation]:
    if isinstance(node, ast.ImportFrom):
        modules = [f"{node.module}.{alias.name}" if node.module else alias.name for alias in node.names]
    else:
        modules = [alias.name for alias in node.names]
    return [Violation(node.lineno, f"import of `{m}` is not allowed") for m in modules if m not in ALLOWED_IMPORTS]


def safe_builtins() -> dict:
    """Builtins for executing gated source: harmless functions and an import that admits the whitelist."""
    table = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
    table["__import__"] = _whitelisted_import
    return table


def _whitelisted_import(name, globals=None, locals=None, fromlist=(), level=0):
    submodules = {f"{name}.{item}" for item in fromlist or ()}
    allowed = name in ALLOWED_IMPORTS or (submodules and submodules <= ALLOWED_IMPORTS)
    if level or not allowed:
        raise ImportError(f"import of `{name}` is not allowed")
    return builtins.__import__(name, globals, locals, fromlist, level)
