"""The static gate: reject objective source by reading it, before any of it runs.

The gate is the first line of defence (the sandbox's process limits are the second), and it is also
what `discovery.objectives.compile` runs before executing source in the trainer, so every rule here
must hold without any runtime containment. The rules close the routes an untrusted author could take
out of pure tensor arithmetic: imports, builtins that reach the interpreter (`open`, `getattr`, `eval`),
dunder and private attributes (`().__class__.__mro__`), attribute access by string (`str.format`),
code that runs at definition time (decorators, defaults, annotations), modules hanging off torch
(`torch.os`), torch functions that do I/O or change global state (`torch.save`, `torch.manual_seed`),
and monkey-patching (`torch.exp = ...`). Each violation names its line and rule, so the message can be
handed back to the author (an LLM) as is.
"""

import ast
import builtins
import importlib
import sys
import types
from dataclasses import dataclass
from functools import cache

from discovery.objectives.contract import ALLOWED_IMPORTS, FUNCTION_NAME, PARAMETERS

MAX_SOURCE_CHARS = 20_000

_SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "int", "isinstance",
    "len", "list", "map", "max", "min", "pow", "range", "reversed", "round", "sorted", "sum", "tuple",
    "zip", "ValueError",
)  # fmt: skip

# Modules an attribute chain may pass through; any other module reached from them (torch.os,
# F.importlib, torch.utils, ...) is refused.
_ALLOWED_MODULES = frozenset(
    {"torch", "torch.nn", "torch.nn.functional", "torch.linalg", "torch.special", "torch.fft", "math"}
)
# Classes an objective may name; any other class hanging off an allowed module (torch.PyTorchFileWriter,
# torch.ScriptModule, torch.nn.Module, ...) is refused, since classes carry constructors and methods
# the gate cannot see into.
_ALLOWED_CLASSES = frozenset(
    {"Tensor", "Size", "finfo", "iinfo", "dtype", "device", "no_grad", "enable_grad", "inference_mode"}
)
# Names bound in the namespace `compile_objective` executes source in, even without an import.
_PRESET_ALIASES = {"torch": "torch", "F": "torch.nn.functional", "math": "math"}

_IO_ATTRIBUTES = frozenset({
    "save", "load", "hub", "tofile", "fromfile", "from_file", "numpy", "storage", "untyped_storage",
    "share_memory_", "data_ptr", "set_", "jit", "script", "trace", "compile", "library", "ops", "classes",
    "utils", "package", "serialization", "multiprocessing", "distributed", "backends", "cuda", "mps",
    "profiler", "onnx", "export", "fx", "dump", "dumps", "loads", "system", "popen", "spawn",
    "import_ir_module", "import_ir_module_from_buffer", "get_file_path", "get_device_module",
    "prepare_multiprocessing_environment",
})  # fmt: skip
_STATE_ATTRIBUTES = frozenset({
    "manual_seed", "seed", "initial_seed", "get_rng_state", "fork_rng", "use_deterministic_algorithms",
    "backward",
})  # fmt: skip
_INTROSPECTION_ATTRIBUTES = frozenset({
    "format", "format_map", "mro", "gi_frame", "gi_code", "cr_frame", "ag_frame", "f_back", "f_globals",
    "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next", "co_code", "func_globals", "func_code",
})  # fmt: skip
_FORBIDDEN_STATEMENTS = {
    ast.ClassDef: "class definitions are not allowed",
    ast.Global: "`global` is not allowed",
    ast.Nonlocal: "`nonlocal` is not allowed",
    ast.AsyncFunctionDef: "async functions are not allowed",
    ast.Await: "`await` is not allowed",
    ast.Yield: "`yield` is not allowed (the loss must return a tensor)",
    ast.YieldFrom: "`yield` is not allowed (the loss must return a tensor)",
    ast.AsyncFor: "async loops are not allowed",
    ast.AsyncWith: "async `with` is not allowed",
}


@dataclass(frozen=True)
class Violation:
    """One broken rule, with the line it was found on (0 when it concerns the whole file)."""

    line: int
    rule: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.rule}" if self.line else self.rule


def check_source(source: str) -> list[Violation]:
    """Return every rule the source breaks, in line order; an empty list means it may be executed."""
    if len(source) > MAX_SOURCE_CHARS:
        return [Violation(0, f"source is longer than {MAX_SOURCE_CHARS} characters")]
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        return [Violation(error.lineno or 0, f"syntax error: {error.msg}")]
    except (ValueError, RecursionError, MemoryError) as error:
        return [Violation(0, f"source cannot be parsed: {type(error).__name__}")]
    try:
        violations = _check_structure(tree) + _Rules(tree).check()
    except RecursionError:
        return [Violation(0, "source is nested too deeply")]
    return sorted(set(violations), key=lambda v: (v.line, v.rule))


def _check_structure(tree: ast.Module) -> list[Violation]:
    """Top level: imports, a docstring and exactly one `loss` function with the contract's parameters."""
    violations: list[Violation] = []
    functions = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions.append(node)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            violations.extend(_check_import(node))
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            violations.append(
                Violation(node.lineno, "only imports, a docstring and one function may stand at top level")
            )
    if len(functions) != 1 or functions[0].name != FUNCTION_NAME:
        names = ", ".join(f.name for f in functions) or "none"
        violations.append(
            Violation(0, f"define exactly one top-level function named `{FUNCTION_NAME}` (found: {names})")
        )
    else:
        arguments = functions[0].args
        names = tuple(a.arg for a in arguments.args)
        extras = arguments.posonlyargs or arguments.kwonlyargs or arguments.vararg or arguments.kwarg
        if names != PARAMETERS or extras:
            violations.append(
                Violation(
                    functions[0].lineno, f"`{FUNCTION_NAME}` must take exactly ({', '.join(PARAMETERS)})"
                )
            )
    return violations


def _check_import(node: ast.Import | ast.ImportFrom) -> list[Violation]:
    if isinstance(node, ast.ImportFrom):
        modules = [f"{node.module}.{alias.name}" if node.module else alias.name for alias in node.names]
        if node.level:
            return [Violation(node.lineno, "relative imports are not allowed")]
    else:
        modules = [alias.name for alias in node.names]
    allowed = " / ".join(sorted(ALLOWED_IMPORTS))
    return [
        Violation(node.lineno, f"import of `{m}` is not allowed (only {allowed})")
        for m in modules
        if m not in ALLOWED_IMPORTS
    ]


def _module_aliases(tree: ast.Module) -> dict[str, str]:
    """Name -> module bound by the top-level imports (on top of the names the executor presets)."""
    aliases = dict(_PRESET_ALIASES)
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ALLOWED_IMPORTS:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in ALLOWED_IMPORTS:
                    aliases[alias.asname or alias.name] = full
    return aliases


class _Rules(ast.NodeVisitor):
    """Walks the whole tree once and records every node that breaks a rule."""

    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.violations: list[Violation] = []
        self.aliases = _module_aliases(tree)
        self.bound = _bound_names(tree)
        self.receivers: set[int] = set()  # ids of nodes used as the object of an attribute access

    def check(self) -> list[Violation]:
        for name in sorted(self.bound & self.aliases.keys()):
            self.flag(_binding_of(self.tree, name), f"rebinding the module name `{name}` is not allowed")
        self.visit(self.tree)
        return self.violations

    def flag(self, node: ast.AST, rule: str) -> None:
        self.violations.append(Violation(getattr(node, "lineno", 0), rule))

    def generic_visit(self, node: ast.AST) -> None:
        rule = _FORBIDDEN_STATEMENTS.get(type(node))
        if rule:
            self.flag(node, rule)
        super().generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        if node.col_offset:
            self.flag(node, "imports are only allowed at the top of the file")

    visit_ImportFrom = visit_Import

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.decorator_list:
            self.flag(
                node.decorator_list[0], "decorators are not allowed (they run when the function is defined)"
            )
        if node.returns:
            self.flag(node, "annotations are not allowed (they run when the function is defined)")
        self.generic_visit(node)

    def visit_arguments(self, node: ast.arguments) -> None:
        if node.defaults or any(d is not None for d in node.kw_defaults):
            self.flag(
                (node.defaults or [d for d in node.kw_defaults if d])[0],
                "default argument values are not allowed (they run when the function is defined)",
            )
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        if node.annotation:
            self.flag(node, "annotations are not allowed (they run when the function is defined)")
        if node.arg.startswith("__"):
            self.flag(node, f"name `{node.arg}` is not allowed (no dunder names)")

    def visit_Expr(self, node: ast.Expr) -> None:
        if not isinstance(node.value, ast.Constant):  # a bare string is a docstring or comment: inert
            self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str | bytes) and ("__" in str(node.value)):
            self.flag(node, "strings containing `__` are not allowed (dunder access by string)")

    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("__"):
            self.flag(node, f"name `{name}` is not allowed (no dunder names)")
        elif isinstance(node.ctx, ast.Load):
            if name in self.aliases and name not in self.bound:
                if id(node) not in self.receivers:
                    self.flag(node, f"module `{name}` may only be used as `{name}.<function>`")
            elif name not in self.bound and name not in _SAFE_BUILTIN_NAMES:
                self.flag(
                    node,
                    f"name `{name}` is not available (only the parameters, local variables, "
                    "torch / F / math and simple builtins such as abs, min, max, float)",
                )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.receivers.add(id(node.value))
        attribute = node.attr
        if not isinstance(node.ctx, ast.Load):
            self.flag(
                node, f"assigning to or deleting `.{attribute}` is not allowed (monkey-patching leaks out)"
            )
        if attribute.startswith("_"):
            self.flag(node, f"attribute `.{attribute}` is not allowed (no dunder or private attributes)")
        elif attribute in _IO_ATTRIBUTES:
            self.flag(
                node,
                f"`.{attribute}` is not allowed (it reaches files, processes, compilers or serialization)",
            )
        elif attribute in _STATE_ATTRIBUTES or attribute.startswith("set_") or "set_state" in attribute:
            self.flag(node, f"`.{attribute}` is not allowed (it changes global torch or autograd state)")
        elif attribute in _INTROSPECTION_ATTRIBUTES:
            self.flag(node, f"`.{attribute}` is not allowed (introspection or attribute access by string)")
        elif _resolve_module(node.value, self.aliases, self.bound) is not None:
            self._check_module_member(node)
        elif attribute in _module_like_names():
            self.flag(node, f"`.{attribute}` is not allowed (it is the name of a module)")
        self.generic_visit(node)

    def _check_module_member(self, node: ast.Attribute) -> None:
        """`module.name` must exist, and must not be a module outside the allowed set."""
        module = _resolve_module(node.value, self.aliases, self.bound)
        if module is None:
            return
        dotted = f"{_dotted(node.value)}.{node.attr}"
        member = vars(module).get(node.attr, _MISSING)
        if member is _MISSING:
            self.flag(node, f"`{dotted}` does not exist")
        elif isinstance(member, type) and node.attr not in _ALLOWED_CLASSES:
            allowed = ", ".join(sorted(_ALLOWED_CLASSES))
            self.flag(node, f"`{dotted}` is a class outside the allowed few ({allowed})")
        elif isinstance(member, types.ModuleType):
            if member.__name__ not in _ALLOWED_MODULES:
                self.flag(node, f"`{dotted}` is the module `{member.__name__}`, which is not allowed")
            elif id(node) not in self.receivers:
                self.flag(node, f"module `{dotted}` may only be used as `{dotted}.<function>`")


_MISSING = object()


@cache
def _module_like_names() -> frozenset[str]:
    """Names of modules (the standard library's, and those hanging off torch / F / math) that are not also
    the name of a tensor, number, string or container attribute: on an object the gate cannot resolve,
    such an attribute could only be meant to reach a module. Fixed by the Python and torch versions, so
    the worker and the trainer judge alike."""
    modules = set(sys.stdlib_module_names)
    for allowed in _ALLOWED_MODULES:
        modules.update(
            k for k, v in vars(importlib.import_module(allowed)).items() if isinstance(v, types.ModuleType)
        )
    import torch

    ordinary = {name for kind in (torch.Tensor, float, str, list, dict, tuple) for name in dir(kind)}
    return frozenset(modules - ordinary - {m.rsplit(".", 1)[-1] for m in _ALLOWED_MODULES})


def _resolve_module(node: ast.expr, aliases: dict[str, str], bound: set[str]) -> types.ModuleType | None:
    """The allowed module an expression statically denotes (`torch`, `torch.nn`, `F`), else None."""
    if isinstance(node, ast.Name):
        if node.id in aliases and node.id not in bound:
            return importlib.import_module(aliases[node.id])
        return None
    if isinstance(node, ast.Attribute):
        parent = _resolve_module(node.value, aliases, bound)
        member = vars(parent).get(node.attr) if parent is not None else None
        if isinstance(member, types.ModuleType) and member.__name__ in _ALLOWED_MODULES:
            return member
    return None


def _binding_of(tree: ast.Module, name: str) -> ast.AST:
    """The first node that binds `name`, for the line number of a rebinding violation."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Load)) or (
            isinstance(node, ast.arg) and node.arg == name
        ):
            return node
    return tree


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else "..."


def _bound_names(tree: ast.Module) -> set[str]:
    """Every name the source binds: parameters, assignments, loop and `with` targets, inner functions."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif (
            isinstance(node, ast.FunctionDef | ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name
        ):
            names.add(node.name)
    return names


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
