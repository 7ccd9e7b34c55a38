"""Evaluator names -> classes."""

import importlib

from discovery.errors import UserError
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


def get_evaluator(name: str, **options) -> Evaluator:
    """An evaluator instance by name; unknown names are a user error that lists the known ones."""
    if name not in _REGISTERED and name in _SHIPPED:
        importlib.import_module(_SHIPPED[name])
    if name not in _REGISTERED:
        raise UserError(f"unknown evaluator '{name}': choose one of {', '.join(evaluator_names())}")
    return _REGISTERED[name](**options)
