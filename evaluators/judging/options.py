"""Evaluator options (`--set key=value`) routed to the settings groups they belong to.

Users give one flat set of keys (`judge_model`, `max_steps`, `questions`, ...); each group is a
pydantic model, so a typo or a bad value is one line naming the option, never a traceback.
"""

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from discovery.errors import UserError

Settings = TypeVar("Settings", bound=BaseModel)


def route(
    evaluator: str, options: dict[str, Any], groups: dict[str, tuple[type[BaseModel], str]]
) -> dict[str, Any]:
    """`{group: settings}` from flat options; `groups` maps a group to (settings class, key prefix)."""
    values: dict[str, dict[str, Any]] = {group: {} for group in groups}
    known = [prefix + name for cls, prefix in groups.values() for name in cls.model_fields]
    for key, value in options.items():
        for group, (cls, prefix) in groups.items():
            if key.startswith(prefix) and key.removeprefix(prefix) in cls.model_fields:
                values[group][key.removeprefix(prefix)] = value
                break
        else:
            raise UserError(
                f"unknown option '{key}' for the {evaluator} evaluator: known ones are {', '.join(known)}"
            )
    return {group: _build(cls, prefix, values[group]) for group, (cls, prefix) in groups.items()}


def _build(cls: type[Settings], prefix: str, values: dict[str, Any]) -> Settings:
    try:
        return cls(**values)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"])
        raise UserError(f"option {prefix}{field}: {problem['msg']}") from error
