"""The static gate: an allow-list of what objective source may contain, checked before any of it runs.

The security boundary is the confined process the sandbox runs candidates in; the gate's job is to
tell the author (an LLM) early and precisely where its code leaves the objective format, and to keep
everything an objective can reach to pure tensor arithmetic. So every check is a positive list: a
small syntax subset (anything else, including syntax newer than this module, is refused by default),
names from a short list, and attribute and keyword names from the curated lists in `allowlist`. Each
violation names its line and a rule worded so that the author can fix the code.

Source is also parsed outside the gate (the code hash, the thought), always through `parse_source`:
its limits on size and nesting make hostile source a clear rejection instead of a RecursionError,
and keep every later tree walk, `ast.unparse` and `compile` well inside Python's recursion limit.
"""

import ast
import builtins
import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from discovery.objectives import allowlist
from discovery.objectives.allowlist import BUILTINS, KEYWORDS, MODULE_NAMES, NAMESPACE_STEPS, NAMESPACES
from discovery.objectives.contract import ALLOWED_IMPORTS, FUNCTION_NAME, IMPORT_LINES, PARAMETERS

MAX_SOURCE_CHARS = 20_000
MAX_LINES = 400
MAX_NODES = 5_000
# Generated and shipped objectives stay below 15 levels; 50 leaves room for long sums while keeping
# `ast.unparse` and `compile` clear of the recursion limit even when called from a deep stack.
MAX_DEPTH = 50

# The syntax an objective may use, with how the objective format documents each construct. Every
# other node type is refused.
ALLOWED_STATEMENTS: dict[type[ast.stmt], str] = {
    ast.Assign: "assignment to local names: `x = ...`, `a, b = ...`",
    ast.AugAssign: "augmented assignment to a local name that is not a parameter: `x += ...`",
    ast.If: "`if` / `elif` / `else`",
    ast.For: "`for i in range(...):` (no `else`)",
    ast.Return: "`return ...`",
    ast.Pass: "`pass`",
    ast.Expr: "a string on a line of its own (a docstring or a comment)",
}
ALLOWED_EXPRESSIONS: dict[type[ast.expr], str] = {
    ast.Name: "names: the parameters, local variables, `torch`, `F`, `math` and the allowed builtins",
    ast.Constant: "numbers, `True`, `False`, `None`, `...` (strings only as docstrings)",
    ast.BinOp: "arithmetic",
    ast.UnaryOp: "unary operators",
    ast.BoolOp: "`and`, `or`",
    ast.Compare: "comparisons, chained too",
    ast.IfExp: "`a if condition else b`",
    ast.Call: "calls, with positional arguments and allowed keyword names",
    ast.Attribute: "attributes from the allowed names below: `torch.exp(x)`, `x.mean()`, `x.shape`",
    ast.Subscript: "indexing and slicing, for reading only: `x[0]`, `x[:, None]`, `x[mask]`",
    ast.Slice: "slices: `a:b:c`",
    ast.Tuple: "tuples: `(a, b)`",
    ast.List: "lists: `[a, b]` (for `torch.stack`, `torch.cat`)",
}
BINARY_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
    ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
}  # fmt: skip
UNARY_OPERATORS: dict[type[ast.unaryop], str] = {
    ast.USub: "-", ast.UAdd: "+", ast.Not: "not", ast.Invert: "~",
}  # fmt: skip
COMPARISONS: dict[type[ast.cmpop], str] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is",
    ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}  # fmt: skip
_CONSTANT_TYPES = (bool, int, float, type(None), type(...))

# Refusals worded for the constructs an author is likely to reach for; any other node type gets a
# generic one naming it.
_IN_AN_OBJECTIVE = "not allowed in an objective"
_REFUSED = {
    "While": f"`while` loops are {_IN_AN_OBJECTIVE} (use `for i in range(n):`)",
    **dict.fromkeys(("Try", "TryStar"), f"`try` is {_IN_AN_OBJECTIVE}"),
    "With": f"`with` is {_IN_AN_OBJECTIVE} (for a constant weight, use `.detach()`)",
    "Raise": f"`raise` is {_IN_AN_OBJECTIVE}",
    "Assert": f"`assert` is {_IN_AN_OBJECTIVE}",
    "Delete": f"`del` is {_IN_AN_OBJECTIVE}",
    "Global": f"`global` is {_IN_AN_OBJECTIVE}",
    "Nonlocal": f"`nonlocal` is {_IN_AN_OBJECTIVE}",
    "Break": f"`break` is {_IN_AN_OBJECTIVE}",
    "Continue": f"`continue` is {_IN_AN_OBJECTIVE}",
    **dict.fromkeys(("Import", "ImportFrom"), "imports are only allowed at the top of the file"),
    "FunctionDef": f"nested functions are {_IN_AN_OBJECTIVE} (write every step inside `loss`)",
    "AsyncFunctionDef": f"async functions are {_IN_AN_OBJECTIVE}",
    "AsyncFor": f"async loops are {_IN_AN_OBJECTIVE}",
    "AsyncWith": f"`async with` is {_IN_AN_OBJECTIVE}",
    "ClassDef": f"class definitions are {_IN_AN_OBJECTIVE}",
    "Match": f"`match` is {_IN_AN_OBJECTIVE} (use `if` / `elif`)",
    "AnnAssign": f"annotated assignments are {_IN_AN_OBJECTIVE} (write `x = ...`)",
    "Lambda": f"`lambda` is {_IN_AN_OBJECTIVE}",
    **dict.fromkeys(
        ("ListComp", "SetComp", "DictComp", "GeneratorExp"),
        f"comprehensions are {_IN_AN_OBJECTIVE} (use tensor operations or a `for` loop)",
    ),
    **dict.fromkeys(("Yield", "YieldFrom"), f"`yield` is {_IN_AN_OBJECTIVE} (the loss must return a tensor)"),
    "Await": f"`await` is {_IN_AN_OBJECTIVE}",
    "NamedExpr": f"the walrus operator `:=` is {_IN_AN_OBJECTIVE}",
    "JoinedStr": f"f-strings are {_IN_AN_OBJECTIVE}",
    "Dict": f"dict displays are {_IN_AN_OBJECTIVE}",
    "Set": f"set displays are {_IN_AN_OBJECTIVE}",
    "Starred": f"`*` unpacking is {_IN_AN_OBJECTIVE}",
}
_TOP_LEVEL = "only imports, a docstring and one function may stand at top level"
_AT_DEFINITION = "(they run when the function is defined)"
_NAMES_AVAILABLE = f"the parameters, local variables, torch, F, math and the builtins {', '.join(BUILTINS)}"
_ONLY_LOCAL_STORES = "only local names may be assigned"


@dataclass(frozen=True)
class Violation:
    """One broken rule, with the line it was found on (0 when it concerns the whole file)."""

    line: int
    rule: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.rule}" if self.line else self.rule


class UnreadableSource(ValueError):
    """The source cannot be read safely: a syntax error, or beyond the limits on size and nesting."""

    def __init__(self, violation: Violation):
        super().__init__(str(violation))
        self.violation = violation


def parse_source(source: str) -> ast.Module:
    """The syntax tree of `source`, within the limits; raises `UnreadableSource` otherwise, never more."""
    if len(source) > MAX_SOURCE_CHARS:
        raise UnreadableSource(Violation(0, f"source is longer than {MAX_SOURCE_CHARS} characters"))
    if len(source.splitlines()) > MAX_LINES:
        raise UnreadableSource(Violation(0, f"source is longer than {MAX_LINES} lines"))
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise UnreadableSource(Violation(error.lineno or 0, f"syntax error: {error.msg}")) from None
    except (RecursionError, MemoryError):
        raise UnreadableSource(Violation(0, "source is nested too deeply to be parsed")) from None
    except ValueError as error:  # null bytes, on Python versions that do not call them a syntax error
        raise UnreadableSource(Violation(0, f"source cannot be parsed: {error}")) from None
    excess = _excess_size(tree)
    if excess is not None:
        raise UnreadableSource(excess)
    return tree


def _excess_size(tree: ast.Module) -> Violation | None:
    """The first limit on node count or nesting depth the tree breaks, found without recursion."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            return Violation(0, f"source has more than {MAX_NODES} syntax nodes: write a shorter objective")
        if depth > MAX_DEPTH:
            return Violation(
                getattr(node, "lineno", 0),
                f"code is nested too deeply (more than {MAX_DEPTH} levels): split it into named steps",
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return None


def check_source(source: str) -> list[Violation]:
    """Return every rule the source breaks, in line order; an empty list means it may be executed."""
    try:
        tree = parse_source(source)
    except UnreadableSource as error:
        return [error.violation]
    # Within a line, the order found: left to right along attribute chains, the statement's own last.
    return sorted(dict.fromkeys(_Checker(tree).check()), key=lambda v: v.line)


class _Checker:
    """Walks the tree along the allowed syntax; whatever it has no rule for is a violation.

    A refused construct is reported once, without looking inside it: the author has to rewrite it anyway.
    """

    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.violations: list[Violation] = []
        self.local_names: set[str] = set()
        self.parameters: set[str] = set()

    def check(self) -> list[Violation]:
        function = self._top_level()
        if function is not None:
            self._signature(function)
            self.parameters = {argument.arg for argument in _arguments(function)}
            self.local_names = self.parameters | _stored_names(function)
            self._statements(function.body)
        return self.violations

    def flag(self, node: ast.AST | None, rule: str) -> None:
        self.violations.append(Violation(getattr(node, "lineno", 0), rule))

    def refuse(self, node: ast.AST) -> None:
        name = type(node).__name__
        self.flag(node, _REFUSED.get(name, f"`{name}` is {_IN_AN_OBJECTIVE}"))

    # -- the file and the function ---------------------------------------------------------------

    def _top_level(self) -> ast.FunctionDef | None:
        """Docstring, imports and function definitions; returns `loss` if it is the one function."""
        functions = []
        for index, node in enumerate(self.tree.body):
            if isinstance(node, ast.FunctionDef):
                functions.append(node)
            elif isinstance(node, ast.Import):
                self._import(node)
            elif isinstance(node, ast.ImportFrom):
                names = ", ".join(alias.name for alias in node.names)
                self.flag(node, f"`from {node.module or '.'} import {names}` is not allowed ({_imports()})")
            elif not (index == 0 and _is_string_statement(node)):
                self.flag(node, _TOP_LEVEL)
        if len(functions) == 1 and functions[0].name == FUNCTION_NAME:
            return functions[0]
        names = ", ".join(f.name for f in functions) or "none"
        self.flag(None, f"define exactly one top-level function named `{FUNCTION_NAME}` (found: {names})")
        return None

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name not in ALLOWED_IMPORTS:
                self.flag(node, f"import of `{alias.name}` is not allowed ({_imports()})")
            elif alias.asname != ALLOWED_IMPORTS[alias.name]:
                self.flag(node, f"`{alias.name}` may only be imported as `{IMPORT_LINES[alias.name]}`")

    def _signature(self, function: ast.FunctionDef) -> None:
        arguments, every = function.args, _arguments(function)
        if function.decorator_list:
            self.flag(function.decorator_list[0], f"decorators are not allowed {_AT_DEFINITION}")
        if arguments.defaults or any(d is not None for d in arguments.kw_defaults):
            self.flag(function, f"default argument values are not allowed {_AT_DEFINITION}")
        if function.returns or any(a.annotation for a in every):
            self.flag(function, f"annotations are not allowed {_AT_DEFINITION}")
        if getattr(function, "type_params", None):  # Python 3.12+: `def loss[T](...)`
            self.flag(function, f"type parameters are {_IN_AN_OBJECTIVE}")
        if tuple(a.arg for a in arguments.args) != PARAMETERS or len(every) != len(PARAMETERS):
            self.flag(function, f"`{FUNCTION_NAME}` must take exactly ({', '.join(PARAMETERS)})")

    # -- statements --------------------------------------------------------------------------------

    def _statements(self, body: list[ast.stmt]) -> None:
        for statement in body:
            if type(statement) in ALLOWED_STATEMENTS:
                getattr(self, f"_{type(statement).__name__}")(statement)
            else:
                self.refuse(statement)

    def _Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(target)
        self._expression(node.value)

    def _AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name) and node.target.id in self.parameters:
            name, operator = node.target.id, BINARY_OPERATORS.get(type(node.op), "?")
            self.flag(
                node,
                f"`{name} {operator}= ...` changes the caller's tensor in place: "
                f"write `new_name = {name} {operator} ...` instead",
            )
        else:
            self._target(node.target)
        self._operator(node, node.op, BINARY_OPERATORS)
        self._expression(node.value)

    def _If(self, node: ast.If) -> None:
        self._expression(node.test)
        self._statements(node.body)
        self._statements(node.orelse)

    def _For(self, node: ast.For) -> None:
        iterator = node.iter
        if not (
            isinstance(node.target, ast.Name)
            and isinstance(iterator, ast.Call)
            and isinstance(iterator.func, ast.Name)
            and iterator.func.id == "range"
            and "range" not in self.local_names
            and not iterator.keywords
        ):
            self.flag(node, "the only loop allowed is `for name in range(...):`")
            return
        if node.orelse:
            self.flag(node.orelse[0], "`for ... else` is not allowed in an objective")
        self._target(node.target)
        for argument in iterator.args:
            self._expression(argument)
        self._statements(node.body)

    def _Return(self, node: ast.Return) -> None:
        if node.value is not None:
            self._expression(node.value)

    def _Pass(self, node: ast.Pass) -> None:
        pass

    def _Expr(self, node: ast.Expr) -> None:
        if not _is_string_statement(node):
            self._expression(node.value)
            self.flag(node, "an expression on a line of its own has no effect: assign it or drop it")

    def _target(self, node: ast.expr) -> None:
        """The left-hand side of an assignment: local names, possibly unpacked from a tuple."""
        if isinstance(node, ast.Name):
            if node.id.startswith("__"):
                self.flag(node, f"name `{node.id}` is not allowed (no dunder names)")
            elif node.id in MODULE_NAMES:
                self.flag(node, f"rebinding the module name `{node.id}` is not allowed")
        elif isinstance(node, ast.Tuple | ast.List):
            for element in node.elts:
                self._target(element)
        elif isinstance(node, ast.Attribute):
            self.flag(node, f"assigning to `.{node.attr}` is not allowed: {_ONLY_LOCAL_STORES}")
        elif isinstance(node, ast.Subscript):
            self.flag(
                node,
                f"assigning to `{_shown(node.value)}[...]` is not allowed: {_ONLY_LOCAL_STORES} "
                "(for a masked update, write `x = torch.where(mask, new, x)`)",
            )
        else:
            self.refuse(node)

    # -- expressions -------------------------------------------------------------------------------

    def _expression(self, node: ast.expr) -> None:
        if type(node) in ALLOWED_EXPRESSIONS:
            getattr(self, f"_{type(node).__name__}")(node)
        else:
            self.refuse(node)

    def _expressions(self, nodes: list[ast.expr]) -> None:
        for node in nodes:
            self._expression(node)

    def _Name(self, node: ast.Name) -> None:
        name = node.id
        if name in self.local_names or name in BUILTINS:
            return
        if name in MODULE_NAMES:
            self.flag(node, f"module `{name}` may only be used as `{name}.<function>`")
        elif name == FUNCTION_NAME:
            self.flag(node, f"`{FUNCTION_NAME}` may not call itself (no recursion)")
        else:
            elsewhere = allowlist.allowed_spellings(name)
            hint = _did_you_mean(name, self.local_names) or f" (only {_NAMES_AVAILABLE})"
            if elsewhere:
                hint = f" (did you mean `{elsewhere[0]}`?)"
            self.flag(node, f"name `{name}` is not available{hint}")

    def _Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str | bytes):
            self.flag(node, "strings are only allowed as docstrings (for `float('inf')` write `math.inf`)")
        elif not isinstance(node.value, _CONSTANT_TYPES):
            self.flag(node, f"{type(node.value).__name__} constants are not allowed in an objective")

    def _BinOp(self, node: ast.BinOp) -> None:
        self._operator(node, node.op, BINARY_OPERATORS)
        self._expressions([node.left, node.right])

    def _UnaryOp(self, node: ast.UnaryOp) -> None:
        self._operator(node, node.op, UNARY_OPERATORS)
        self._expression(node.operand)

    def _BoolOp(self, node: ast.BoolOp) -> None:
        self._expressions(node.values)

    def _Compare(self, node: ast.Compare) -> None:
        for operator in node.ops:
            self._operator(node, operator, COMPARISONS)
        self._expressions([node.left, *node.comparators])

    def _IfExp(self, node: ast.IfExp) -> None:
        self._expressions([node.test, node.body, node.orelse])

    def _Subscript(self, node: ast.Subscript) -> None:
        self._expressions([node.value, node.slice])

    def _Slice(self, node: ast.Slice) -> None:
        self._expressions([part for part in (node.lower, node.upper, node.step) if part is not None])

    def _Tuple(self, node: ast.Tuple | ast.List) -> None:
        self._expressions(node.elts)

    _List = _Tuple

    def _Call(self, node: ast.Call) -> None:
        self._expressions([node.func, *node.args])
        if isinstance(node.func, ast.Attribute) and (path := self._namespace_of(node.func.value)):
            namespace = NAMESPACES.get(path)
            position = namespace and allowlist.POSITIONAL_IN_PLACE.get((namespace.spelling, node.func.attr))
            if position and len(node.args) > position[0]:
                index, name = position
                self.flag(
                    node.args[index],
                    f"argument {index + 1} of `{path}.{node.func.attr}` is its `{name}`, which writes into "
                    "an existing tensor in place: an objective only makes new ones",
                )
        for keyword in node.keywords:
            rule = _keyword_rule(keyword.arg)
            if rule:
                self.flag(keyword.value, rule)
            self._expression(keyword.value)

    def _Attribute(self, node: ast.Attribute) -> None:
        namespace = self._namespace_of(node.value)
        if namespace is not None:
            self._namespace_member(node, namespace)
            return
        self._expression(node.value)
        if node.attr not in allowlist.TENSOR_NAMES:
            kind = "tensor methods"
            self.flag(node, _attribute_rule(f"`.{node.attr}`", node.attr, kind, allowlist.TENSOR_NAMES))

    def _namespace_member(self, node: ast.Attribute, path: str) -> None:
        """`torch.exp`, `F.softplus`, `torch.nn.functional.relu`: the name must be in its namespace's list."""
        dotted = f"{path}.{node.attr}"
        if dotted in NAMESPACES or dotted in NAMESPACE_STEPS:  # reached here, it is not a receiver
            self.flag(node, f"module `{dotted}` may only be used as `{dotted}.<function>`")
        elif path in NAMESPACE_STEPS:
            self.flag(node, f"`{dotted}` is not allowed: of `{path}`, only `{path}.functional` (F) is")
        elif node.attr not in NAMESPACES[path].names:
            namespace = NAMESPACES[path]
            kind = f"{namespace.spelling} functions"
            self.flag(node, _attribute_rule(f"`{dotted}`", node.attr, kind, namespace.names))

    def _namespace_of(self, node: ast.expr) -> str | None:
        """The namespace (or step towards one) an expression spells, `torch.nn.functional`, else None."""
        if isinstance(node, ast.Name):
            return node.id if node.id in MODULE_NAMES and node.id not in self.local_names else None
        if isinstance(node, ast.Attribute):
            parent = self._namespace_of(node.value)
            dotted = f"{parent}.{node.attr}"
            if parent is not None and (dotted in NAMESPACES or dotted in NAMESPACE_STEPS):
                return dotted
        return None

    def _operator(self, node: ast.AST, operator: ast.AST, allowed: dict) -> None:
        if type(operator) not in allowed:
            self.flag(node, f"the `{type(operator).__name__}` operator is not allowed in an objective")


def _attribute_rule(shown: str, name: str, kind: str, pool: frozenset[str]) -> str:
    """Why an attribute name is refused, with the allowed spelling or the closest allowed name."""
    if name.startswith("_"):
        return f"{shown} is not allowed (private and dunder attributes are never part of an objective)"
    if name in allowlist.AUTOGRAD_NAMES:
        return f"{shown} reaches the autograd graph: an objective only computes loss values"
    if name in allowlist.RANDOM_NAMES:
        return f"{shown} draws random numbers or reseeds: an objective must be deterministic"
    if allowlist.is_in_place(name):
        return f"{shown} changes a tensor in place: use `{name[:-1]}` or arithmetic that makes a new tensor"
    elsewhere = allowlist.allowed_spellings(name)
    if elsewhere:
        return f"{shown} is not one of the allowed {kind}; use `{elsewhere[0]}`"
    return f"{shown} is not one of the allowed {kind}{_did_you_mean(name, pool)}"


def _keyword_rule(name: str | None) -> str | None:
    """Why a keyword argument is refused, or None when it is allowed."""
    if name is None:
        return "`**` unpacking is not allowed in an objective"
    if name in allowlist.IN_PLACE_KEYWORDS:
        return f"keyword `{name}=` writes into an existing tensor in place: an objective only makes new ones"
    if name in allowlist.AUTOGRAD_NAMES:
        return f"keyword `{name}=` reaches the autograd graph: an objective only computes loss values"
    if name in allowlist.RANDOM_NAMES:
        return f"keyword `{name}=` draws random numbers: an objective must be deterministic"
    if name not in KEYWORDS:
        return f"keyword `{name}=` is not one of the allowed keyword names{_did_you_mean(name, KEYWORDS)}"
    return None


def _did_you_mean(name: str, pool: Iterable[str]) -> str:
    """` (did you mean `x`?)` for a near miss such as a typo, else nothing."""
    close = difflib.get_close_matches(name, sorted(pool), n=1, cutoff=0.82)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _imports() -> str:
    return "the only imports are " + ", ".join(f"`{line}`" for line in IMPORT_LINES.values())


def _shown(node: ast.expr) -> str:
    """A short rendering of a simple expression for a message: `x`, `torch.x`, or `...`."""
    if isinstance(node, ast.Attribute):
        return f"{_shown(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else "..."


def _arguments(function: ast.FunctionDef) -> list[ast.arg]:
    arguments = function.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    return every + [a for a in (arguments.vararg, arguments.kwarg) if a is not None]


def _is_string_statement(node: ast.stmt) -> bool:
    value = node.value if isinstance(node, ast.Expr) else None
    return isinstance(value, ast.Constant) and isinstance(value.value, str)


def _stored_names(function: ast.FunctionDef) -> set[str]:
    """Every name the function's body assigns: the local variables a later line may read."""
    return {
        node.id
        for node in ast.walk(function)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }


def safe_builtins() -> dict:
    """Builtins for executing gated source: the allowed builtins and an import of the allowed modules."""
    table = {name: getattr(builtins, name) for name in BUILTINS}
    table["__import__"] = _import_allowed_module
    return table


def _import_allowed_module(name, globals=None, locals=None, fromlist=(), level=0):
    """`__import__` for the three allowed import lines only: no `from` imports, no other module."""
    if level or fromlist or name not in ALLOWED_IMPORTS:
        raise ImportError(f"import of `{name}` is not allowed")
    return builtins.__import__(name, globals, locals, fromlist, level)
