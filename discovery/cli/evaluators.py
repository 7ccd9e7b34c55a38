"""`discover evaluators`: each evaluator, what it measures, and every option it takes.

The options are read from each evaluator's `Options` model, the same model that checks `--set` and
`evaluator_options:`, so the listing cannot drift from what is accepted.
"""

import json
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from discovery.cli import app

_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


@app.command("evaluators")
def list_evaluators(
    names: list[str] = typer.Argument(None, metavar="NAME", help="Evaluators to list (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """List the evaluators with their options: name, type, default and meaning.

    Set an option with `--set KEY=VALUE` on `discover run` and `discover evaluate`, or under
    `evaluator_options:` in a run's YAML config.
    """
    from rich.table import Table
    from rich.text import Text

    from discovery.ui import plain_console
    from evaluators.registry import evaluator_class, evaluator_classes

    classes = [evaluator_class(name) for name in names] if names else evaluator_classes()
    catalog = [
        {
            "name": cls.name,
            "description": cls.description,
            "training_deadline": _deadline(cls.name),
            **_options(cls.Options),
            **_suites(cls.name),
        }
        for cls in classes
        if not cls.hidden
    ]
    if as_json:
        typer.echo(json.dumps({"evaluators": catalog}, indent=2))
        return
    console = plain_console()
    for entry in catalog:
        title = Text(f"{entry['name']}: {entry['description']}")
        table = Table(title=title, title_justify="left", expand=True)
        for column in ("option", "type", "default", "meaning"):
            table.add_column(column, overflow="fold")
        for option in entry["options"]:
            cells = (option["name"], option["type"], json.dumps(option["default"]), option["meaning"])
            table.add_row(*map(Text, cells))  # Text: `dict[str, Any]` is not rich markup
        console.print(table)
        if entry["note"]:
            console.print(entry["note"])
        console.print(Text(f"Training deadline, default options: {entry['training_deadline']}"))
        for name, suite in entry["suites"].items():
            default = " (the default)" if name == entry["default_suite"] else ""
            console.print(Text(f"Suite {name}{default}: {suite['description']}"))
            for role in ("meta_train", "meta_test"):
                variants = "; ".join(f"{v} {json.dumps(o)}" for v, o in suite[role].items()) or "none"
                console.print(Text(f"  {role.replace('_', '-')}: {variants}"))
        console.print()


def _deadline(name: str) -> str:
    """The deadline of one training with the default options, on the task in the default cache
    (measured from its baseline once that task was prepared); `executor.training_timeout` replaces it."""
    from discovery.paths import DEFAULT_RUNS_DIR, cache_root
    from evaluators.registry import get_evaluator

    return get_evaluator(name, {}, cache_root(DEFAULT_RUNS_DIR)).limits().describe()


def _suites(name: str) -> dict[str, Any]:
    """The task suites the evaluator ships (`suite:` of a run) and the one a run uses by default."""
    from discovery.paths import DEFAULT_RUNS_DIR, cache_root
    from evaluators.registry import get_evaluator

    evaluator = get_evaluator(name, {}, cache_root(DEFAULT_RUNS_DIR))
    suites = {suite: value.model_dump() for suite, value in evaluator.suites().items()}
    return {"suites": suites, "default_suite": evaluator.default_suite()}


def _options(model: type[BaseModel]) -> dict[str, Any]:
    """The options of one evaluator and the note its `Options` docstring gives, JSON-able."""
    return {
        "note": " ".join((model.__doc__ or "").split()),
        "options": [
            {
                "name": name,
                "type": _type(info),
                "default": to_jsonable_python(info.get_default(call_default_factory=True)),
                "meaning": info.description or "",
            }
            for name, info in model.model_fields.items()
        ],
    }


def _type(info: FieldInfo) -> str:
    """`int | None, > 0`, `'auto' | 'vllm'`: the annotation as a user reads it, then its bounds."""
    bounds: list[str] = []
    text = _name(info.annotation, bounds)
    for item in info.metadata:
        bounds += _bounds(item)
    return ", ".join([text, *bounds])


def _name(annotation: Any, bounds: list[str]) -> str:
    """The type's name without module paths; bounds met inside `Annotated` are added to `bounds`."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is type(None):
        return "None"
    if origin is Annotated:
        for item in args[1:]:
            bounds += _bounds(item)
        return _name(args[0], bounds)
    if origin is Literal:
        return " | ".join(repr(arg) for arg in args)
    if origin in (Union, UnionType):
        return " | ".join(_name(arg, bounds) for arg in args)
    if args:
        return f"{origin.__name__}[{', '.join(_name(arg, bounds) for arg in args)}]"
    return getattr(annotation, "__name__", str(annotation))


def _bounds(constraint: Any) -> list[str]:
    return [
        f"{symbol} {getattr(constraint, key)}"
        for key, symbol in _BOUNDS.items()
        if getattr(constraint, key, None) is not None
    ]
