"""An evaluator's options: one flat set of keys over several settings groups.

Users give one flat set of keys (`judge_model`, `max_steps`, `questions`, `preset`, `epochs`, ...);
an evaluator keeps them in groups (a judged evaluator's task, training, answers, judge and storage;
the sentiment task's cached artefacts and candidate training), each a pydantic model. `flat_model`
builds the evaluator's `Options` from the groups, every field under its group's prefix with its
type, bounds, default and description, so that no option is written twice; `split` hands the
validated options back to the groups.
"""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

# group name -> (settings class, prefix of its keys among the evaluator's options)
Groups = dict[str, tuple[type[BaseModel], str]]


# No docstring: an `Options` model's docstring is the note `discover evaluators` prints below its
# options, and options built on this base have none.
class FlatOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def flat_model(name: str, groups: Groups, base: type[FlatOptions] = FlatOptions) -> type[FlatOptions]:
    """One options model holding every field of every group as `prefix + field`, on `base`: a
    subclass of `FlatOptions` brings options of its own, validators that look across groups, and
    its docstring."""
    fields: dict[str, Any] = {}
    for cls, prefix in groups.values():
        for field, info in cls.model_fields.items():
            if prefix + field in fields or prefix + field in base.model_fields:
                raise TypeError(f"{name}: option {prefix + field} belongs to two settings groups")
            fields[prefix + field] = (info.annotation, info)
    return create_model(name, __base__=base, __doc__=base.__doc__, **fields)


def split(
    options: BaseModel, groups: Groups, defaults: Mapping[str, BaseModel] | None = None
) -> dict[str, Any]:
    """`{group: settings}` from validated flat options. An option left unset takes its value from
    the group's settings in `defaults` (a preset) where there are some, and else stays unset in the
    group."""
    given = options.model_dump(include=options.model_fields_set)
    settings: dict[str, Any] = {}
    for group, (cls, prefix) in groups.items():
        values = {field: given[prefix + field] for field in cls.model_fields if prefix + field in given}
        base = (defaults or {}).get(group)
        settings[group] = base.model_copy(update=values) if base is not None else cls.model_validate(values)
    return settings
