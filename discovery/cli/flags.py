"""Command-line options made from the fields of a configuration model, as TRL's `TrlParser` makes a
script's options from its dataclasses: each option is declared once, by the field it sets, and takes
the field's description and default as its help; a field added to the model is an option the day it
is added, and what the user typed comes back as the nested overrides `build_config` merges.

A section of the model (`racing:`, `executor:`) is no option itself: the command line offers those of
its fields that are named by their dotted path (`racing.first_seeds` is `--first-seeds`), in the
section's place. Every option's typer default is None (an empty list for a repeatable one), so that
only what the user typed replaces a config file's value.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import update_wrapper
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from typer.models import OptionInfo


@dataclass(frozen=True)
class Flag:
    """How the command line offers a field where the field alone does not say it: a short name,
    another long name, the type its text is read as, a metavar; or an option declared elsewhere
    (`--set`) with the function that turns its values into the field's."""

    path: str  # the field; dotted for a section's field: `executor.workers`
    short: str | None = None
    name: str | None = None  # the long name; default: `--` and the field's name with dashes
    typed: Any = None  # default: int or float for such a field, text repeated for a list, else text
    metavar: str | None = None
    option: OptionInfo | None = None  # declared elsewhere: its own names, help and default
    read: Callable[[Any], Any] | None = None


@dataclass(frozen=True, eq=False)
class ConfigOption:
    """One option of the command: the field it sets and the typer parameter that reads it."""

    path: tuple[str, ...]
    parameter: inspect.Parameter
    read: Callable[[Any], Any] | None

    @property
    def names(self) -> tuple[str, ...]:
        """`--first-seeds`, and a short name if it has one."""
        return tuple(self.parameter.default.param_decls)


class ConfigFlags:
    """The options of a model's fields in the model's order: each field that is not a section, and
    the sections' fields that `flags` name; `flags` also say how each is spelled where the field alone
    does not."""

    def __init__(self, model: type[BaseModel], *flags: Flag) -> None:
        declared = {flag.path: flag for flag in flags}
        if len(declared) != len(flags):
            raise ValueError("a field's flag is declared twice")
        self.options: list[ConfigOption] = []
        for name, info in model.model_fields.items():
            if _section(info) is None:
                self.options.append(_option(declared.pop(name, Flag(name)), info))
                continue
            for path in [path for path in declared if path.startswith(f"{name}.")]:
                self.options.append(_option(declared.pop(path), _field(model, path)))
        if declared:
            raise ValueError(f"{model.__name__} has no field {', '.join(declared)}")
        names = [name for option in self.options for name in option.names]
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"{', '.join(twice)} would set two fields")

    def command(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """`function` as a typer command with these options before its own parameters: it is called
        with what the user typed of them (`Typed`) as its first argument, then its own."""
        own = list(inspect.signature(function).parameters.values())[1:]

        def command(**values: Any) -> Any:
            typed = Typed({option: values.pop(option.parameter.name) for option in self.options})
            return function(typed, **values)

        update_wrapper(command, function, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
        parameters = [option.parameter for option in self.options]
        parameters += [parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY) for parameter in own]
        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        command.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
        return command


@dataclass(frozen=True)
class Typed:
    """What the user typed of a command's config options (None or an empty list: nothing)."""

    values: dict[ConfigOption, Any]

    def given(self) -> list[ConfigOption]:
        """The options the user typed, in the command's order."""
        return [option for option, value in self.values.items() if value is not None and value != []]

    def value(self, path: str) -> Any:
        """What the user typed for the field at `path` (None: nothing)."""
        return next(
            (self._read(option) for option in self.given() if option.path == tuple(path.split("."))), None
        )

    def overrides(self) -> dict[str, Any]:
        """The fields the user set, nested as the model's sections are (`{"racing": {"first_seeds":
        2}}`): what `build_config` merges over the defaults and the config file."""
        nested: dict[str, Any] = {}
        for option in self.given():
            *sections, field = option.path
            place = nested
            for section in sections:
                place = place.setdefault(section, {})
            place[field] = self._read(option)
        return nested

    def _read(self, option: ConfigOption) -> Any:
        value = self.values[option]
        return option.read(value) if option.read else value


def _option(flag: Flag, info: FieldInfo) -> ConfigOption:
    """The typer parameter of `flag`'s field: its own option, or one with the field's help."""
    path = tuple(flag.path.split("."))
    typed = flag.typed or _typed(flag.path, info)
    option = flag.option
    if option is None:
        names = [flag.name or f"--{path[-1].replace('_', '-')}", *([flag.short] if flag.short else [])]
        option = typer.Option(None, *names, help=_help(info), metavar=flag.metavar)
    parameter = inspect.Parameter(
        "_".join(path), inspect.Parameter.KEYWORD_ONLY, default=option, annotation=typed | None
    )
    return ConfigOption(path, parameter, flag.read)


def _typed(path: str, info: FieldInfo) -> Any:
    """How the command line reads the field's text: a number as a number (so that `-g abc` is the
    option parser's complaint), a list as a repeatable option, anything else as text for the model
    to check."""
    kinds = [kind for kind in _union(info.annotation) if kind is not NoneType]
    if len(kinds) != 1:
        return str
    kind = kinds[0]
    if kind in (int, float):
        return kind
    if get_origin(kind) is list:
        return list[str]
    if get_origin(kind) is dict or kind is dict:
        raise ValueError(f"{path} is a mapping: declare the option that sets it (Flag(option=...))")
    return str


def _union(annotation: Any) -> tuple[Any, ...]:
    return get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)


def _help(info: FieldInfo) -> str:
    """The field's description as a sentence, and its default when it has one worth showing."""
    meaning = info.description or ""
    default = info.get_default(call_default_factory=True)
    shown = "" if default is None or default == [] else f" [default: {default}]"
    return f"{meaning[:1].upper()}{meaning[1:]}.{shown}"


def _section(info: FieldInfo) -> type[BaseModel] | None:
    """The model of a section field (`racing: RacingSettings`), None for any other field."""
    kind = info.annotation
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _field(model: type[BaseModel], path: str) -> FieldInfo:
    """The field at a dotted path, through the sections it names."""
    *sections, name = path.split(".")
    for section in sections:
        inner = _section(model.model_fields[section]) if section in model.model_fields else None
        if inner is None:
            raise ValueError(f"{path}: {section} is no section of {model.__name__}")
        model = inner
    if name not in model.model_fields:
        raise ValueError(f"{model.__name__} has no field {name} ({path})")
    return model.model_fields[name]
