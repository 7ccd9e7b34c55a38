"""No module of discovery/, evaluators/ or prompts/ is in an import circle.

The rule: every import counts, wherever it is written. One at module level, one inside a function
and one under `if TYPE_CHECKING:` all mean that a module needs another; an import moved into a
function or under `TYPE_CHECKING` to dodge an ImportError hides a circle without breaking it (the
retrain circle hid that way: `checkpoints` read the plan with `job.load_plan` inside a function).

A package's `__init__` importing its own modules counts too. Today that is only re-exporting, and
re-exporting makes no circle: none of the package's modules import the package back. One that did
(a module importing a name from its own package's `__init__`, which imports that module) would run
against a half-initialised package depending on which of the two is imported first, which is
exactly the circle worth failing on. `discovery.cli`'s commands do import `app` from their package,
but the package finds them with `importlib`, which is no import statement and draws no edge.
"""

from pathlib import Path

import grimp
import pytest

PACKAGES = ("discovery", "evaluators", "prompts")


def circles(graph: grimp.ImportGraph) -> list[str]:
    """Each group of modules that import one another (a strongly connected component of the
    graph), as one loop through it: `a -> b -> a`."""
    seen: set[str] = set()
    found = []
    for module in sorted(graph.modules):
        if module in seen:
            continue
        # Both imported by `module` and importing it, directly or not: the rest of its component.
        component = graph.find_upstream_modules(module) & graph.find_downstream_modules(module)
        if not component:
            continue
        seen |= component | {module}
        step = min(graph.find_modules_directly_imported_by(module) & (component | {module}))
        chain = graph.find_shortest_chain(importer=step, imported=module) or (module,)
        found.append(" -> ".join((module, *chain)))
    return found


def test_no_module_is_in_an_import_circle() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert circles(graph) == []


@pytest.mark.parametrize(
    "closing_import",
    [
        "from circle_probe import a",
        "def later():\n    from circle_probe import a",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from circle_probe import a",
    ],
    ids=["module-level", "inside-a-function", "type-checking-only"],
)
def test_a_circle_is_found_however_its_closing_import_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closing_import: str
) -> None:
    package = tmp_path / "circle_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from circle_probe import b\n")
    (package / "b.py").write_text("from circle_probe import c\n")
    (package / "c.py").write_text(closing_import + "\n")
    (package / "d.py").write_text("from circle_probe import a\n")  # imports the circle, is not in it
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("circle_probe", cache_dir=None)
    assert circles(graph) == ["circle_probe.a -> circle_probe.b -> circle_probe.c -> circle_probe.a"]
