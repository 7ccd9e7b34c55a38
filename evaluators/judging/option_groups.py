"""The options of a judged evaluator: one flat set of keys over several settings groups.

Users give one flat set of keys (`judge_model`, `max_steps`, `questions`, ...); the evaluator keeps
them in groups (the task, the training, the answers, the judge, storage), each a pydantic model.
`flat_model` builds the evaluator's `Options` from the groups, every field under its group's prefix
with its type, bounds, default and description, so that no option is written twice; `split` hands
the validated options back to the groups.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

# group name -> (settings class, prefix of its keys among the evaluator's options)
Groups = dict[str, tuple[type[BaseModel], str]]


def flat_model(name: str, groups: Groups) -> type[BaseModel]:
    """One options model holding every field of every group as `prefix + field`."""
    fields: dict[str, Any] = {}
    for cls, prefix in groups.values():
        for field, info in cls.model_fields.items():
            if prefix + field in fields:
                raise TypeError(f"{name}: option {prefix + field} belongs to two settings groups")
            fields[prefix + field] = (info.annotation, info)
    return create_model(name, __config__=ConfigDict(extra="forbid", frozen=True), **fields)


def split(options: BaseModel, groups: Groups) -> dict[str, Any]:
    """`{group: settings}` from validated flat options; options left unset stay unset in the groups."""
    given = options.model_dump(include=options.model_fields_set)
    return {
        group: cls.model_validate(
            {field: given[prefix + field] for field in cls.model_fields if prefix + field in given}
        )
        for group, (cls, prefix) in groups.items()
    }
