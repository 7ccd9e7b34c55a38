"""The suite's own layout: test modules share code only through `tests/support/`, so running, moving
or deleting one test module never changes what another one collects or imports."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_modules(source: str) -> set[str]:
    """Every module a source imports, by absolute name (`from tests import test_x` counts as
    `tests.test_x`; a relative import is taken from the `tests` package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(filter(None, ["tests" if node.level else "", node.module or ""]))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def is_test_module(name: str) -> bool:
    return name.startswith("tests.test_")


def test_no_test_module_imports_another() -> None:
    tangled = {
        path.name: sorted(filter(is_test_module, imported_modules(path.read_text())))
        for path in sorted(TESTS.glob("test_*.py"))
    }
    assert {name: imports for name, imports in tangled.items() if imports} == {}


def test_the_check_sees_every_spelling_of_such_an_import() -> None:
    spellings = [
        "import tests.test_show",
        "from tests.test_racing import run_loop",
        "from tests import test_disk",
        "from .test_loop_openai import SKEWED",
        "from . import test_disk",
    ]
    assert [any(map(is_test_module, imported_modules(s))) for s in spellings] == [True] * 5
    assert not any(map(is_test_module, imported_modules("from tests.support.commands import discover_main")))


def test_shared_code_lives_in_support_not_beside_the_tests() -> None:
    beside = {path.name for path in TESTS.glob("*.py")} - {"__init__.py", "conftest.py"}
    assert {name for name in beside if not name.startswith("test_")} == set()
