"""The `Objective` record and the ways to obtain one."""

import ast
import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, computed_field

from discovery.errors import UserError
from discovery.objectives.compile import compile_objective
from discovery.objectives.contract import LossFunction
from discovery.objectives.gate import UnreadableSource, parse_source
from discovery.user_files import read_text_file

_LIBRARY = "discovery.objectives.library"


class UnknownObjective(UserError):
    """The spec is neither a shipped name nor a file: callers that also take archived candidates
    (`discovery.resolve`) look there next. Any other `UserError` of `load_objective` is about the
    file the spec names, and is the user's answer."""


class Objective(BaseModel):
    """Objective source with its name and origin; compiling it runs the static gate."""

    model_config = ConfigDict(frozen=True)

    name: str
    source: str
    origin: str  # "shipped", a file path, or "archive:<run>/<candidate>"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def code_hash(self) -> str:
        """Hash of the source with comments, docstrings and layout normalised away."""
        return hashlib.sha256(normalized_source(self.source).encode()).hexdigest()[:16]

    @property
    def thought(self) -> str:
        """The module docstring: the idea behind the objective, in one paragraph."""
        try:
            return " ".join((ast.get_docstring(parse_source(self.source)) or "").split())
        except UnreadableSource:
            return ""

    def compile(self) -> LossFunction:
        """The callable loss; raises `ObjectiveRejected` if the static gate refuses the source."""
        # The name is only a label in tracebacks; a stored one may hold what a file name cannot (NUL).
        return compile_objective(self.source, filename=f"<{self.name.replace(chr(0), '?')}>")


def normalized_source(source: str) -> str:
    """Source re-printed from its syntax tree without docstrings, so cosmetic edits hash alike.

    Source that cannot be parsed within the gate's limits (a syntax error, or nesting deep enough to
    break `ast.unparse`) is its own normal form: it is hashed as it stands, never a crash.
    """
    try:
        tree = parse_source(source)
    except UnreadableSource:
        return source
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


# What each shipped objective is there for (the catalog's "role").
ROLES = {
    "seed": "a seed of the DiscoPOP paper's search",
    "discovered": "discovered in the DiscoPOP paper",
    "trl": "one of TRL's built-in loss types, shipped for comparison",
}
# The roles a run is seeded with unless it names its seeds: the paper's seeds and discoveries. The
# others are there to be named (`--seed-objectives dpo,rdpo`, `discover evaluate`): seeding them by
# default would add their trainings to every run.
DEFAULT_SEED_ROLES = ("seed", "discovered")


@cache
def shipped_catalog() -> dict[str, dict]:
    """Name -> {title, aliases, role (one of `ROLES`), reported paper figures (none for `trl`)} for
    shipped objectives."""
    text = resources.files(_LIBRARY).joinpath("catalog.json").read_text()
    return {name: entry for name, entry in json.loads(text).items() if not name.startswith("_")}


def reported_source() -> str:
    """Where the reported figures in the catalog come from."""
    return json.loads(resources.files(_LIBRARY).joinpath("catalog.json").read_text())["_source"]


def shipped_names() -> list[str]:
    """Canonical names of the shipped objectives: the paper's seeds and discoveries in its order, then
    TRL's loss types."""
    return list(shipped_catalog())


def default_seed_names() -> list[str]:
    """The shipped objectives a run is seeded with when it names none: the paper's, in its order."""
    return [name for name, entry in shipped_catalog().items() if entry["role"] in DEFAULT_SEED_ROLES]


def canonical_name(name: str) -> str | None:
    """The shipped objective `name` means (any case, an alias, dashes for underscores), if any."""
    key = name.lower().replace("-", "_")
    for canonical, entry in shipped_catalog().items():
        if key == canonical or key in entry["aliases"]:
            return canonical
    return None


def load_objective(spec: str) -> Objective:
    """Resolve a shipped name (or alias) or a path to a `.py` file into an `Objective`.

    Archived candidates are resolved by the archive, which builds `Objective` records itself.
    """
    canonical = canonical_name(spec)
    if canonical is not None:
        source = resources.files(_LIBRARY).joinpath(f"{canonical}.py").read_text()
        return Objective(name=canonical, source=source, origin="shipped")
    path = Path(spec)
    if path.suffix == ".py" or _exists(path):
        source = read_text_file(path, "objective file")
        return Objective(name=path.stem, source=source, origin=str(path))
    known = ", ".join(shipped_names())
    raise UnknownObjective(
        f"unknown objective '{spec}': give a shipped name ({known}) or a path to a .py file"
    )


def _exists(path: Path) -> bool:
    """Whether something is at `path`; a name the system cannot look up (too long) is not a path."""
    try:
        return path.exists()
    except OSError:
        return False
