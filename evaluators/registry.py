"""Evaluator names -> classes, and the one place where an evaluator is built from user options."""

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from discovery.errors import UserError, validation_message
from discovery.options import reject_non_finite
from evaluators.base import Evaluator

# name -> module that defines and registers it; imported only when asked for (torch-heavy modules)
_SHIPPED = {
    "sentiment": "evaluators.sentiment",
    "mtbench": "evaluators.mtbench",
    "alpaca": "evaluators.alpaca",
}
_REGISTERED: dict[str, type[Evaluator]] = {}


def register(cls: type[Evaluator]) -> type[Evaluator]:
    """Class decorator: make an evaluator available to `get_evaluator` under `cls.name`."""
    _REGISTERED[cls.name] = cls
    return cls


def evaluator_names() -> list[str]:
    """Every evaluator a user can name."""
    return sorted(set(_SHIPPED) | set(_REGISTERED))


def evaluator_class(name: str) -> type[Evaluator]:
    """The class registered as `name` (importing a shipped one on demand), or as `module:name` for
    an evaluator of the user's own (importing `module` registers it); a user error otherwise."""
    module, _, name = name.rpartition(":")
    if module:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise UserError(f"cannot import the evaluator module '{module}': {error}") from error
    if name not in _REGISTERED and name in _SHIPPED:
        importlib.import_module(_SHIPPED[name])
    if name not in _REGISTERED:
        raise UserError(f"unknown evaluator '{name}': choose one of {', '.join(evaluator_names())}")
    return _REGISTERED[name]


def evaluator_classes() -> list[type[Evaluator]]:
    """Every evaluator, the shipped ones imported, by name."""
    return [evaluator_class(name) for name in evaluator_names()]


def _checked_options(cls: type[Evaluator], options: Mapping[str, Any]) -> BaseModel:
    """`options` validated by the evaluator's `Options` model; any problem is one line naming the option."""
    known = cls.Options.model_fields
    unknown = sorted(set(options) - set(known))
    if unknown:
        # training seeds belong to the run, not the task: a user reaching for `seed` needs --seeds
        hint = "; training seeds are chosen with --seeds, e.g. --seeds 3,7" if "seed" in unknown else ""
        raise UserError(
            f"the {cls.name} evaluator has no option {', '.join(unknown)} "
            f"(its options: {', '.join(known)}){hint}"
        )
    reject_non_finite(options, f"the {cls.name} evaluator's option ")
    try:
        return cls.Options.model_validate(dict(options))
    except ValidationError as error:
        if error.errors()[0]["loc"]:
            raise UserError(validation_message(error, f"the {cls.name} evaluator's option ")) from error
        # a rule across options, e.g. sentiment's heads and hidden_size
        raise UserError(f"the {cls.name} evaluator's options: {validation_message(error)}") from error


def get_evaluator(name: str, options: Mapping[str, Any], cache_dir: Path) -> Evaluator:
    """The evaluator `name` with `options` (checked before anything heavy is built), caching under
    `cache_dir` (see `discovery.paths.cache_root`)."""
    cls = evaluator_class(name)
    return cls(_checked_options(cls, options), cache_dir=cache_dir)
