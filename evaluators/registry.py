"""Evaluator names -> classes."""

import importlib
import inspect
from pathlib import Path

from discovery.errors import UserError
from discovery.paths import cache_root
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


def get_evaluator(name: str, options: dict | None = None, cache_dir: Path | None = None) -> Evaluator:
    """An evaluator instance by name, keeping its built task under `cache_dir` (default: the cache
    root); unknown names are a user error that lists the known ones."""
    options = options or {}
    if name not in _REGISTERED and name in _SHIPPED:
        importlib.import_module(_SHIPPED[name])
    if name not in _REGISTERED:
        raise UserError(f"unknown evaluator '{name}': choose one of {', '.join(evaluator_names())}")
    cls = _REGISTERED[name]
    accepted = inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    unknown = sorted(set(options) - set(accepted)) if not takes_any else []
    if unknown:
        known = ", ".join(p for p in accepted if p not in ("self", "cache_dir")) or "none"
        raise UserError(f"the {name} evaluator has no option {', '.join(unknown)} (its options: {known})")
    return cls(**options, cache_dir=cache_dir or cache_root())
