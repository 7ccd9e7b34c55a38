"""`key=value` options (`--set`) as typed values, one reading for every command."""

import math
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import yaml

from discovery.errors import UserError

YAML11_WORDS = frozenset({"yes", "no", "on", "off", "y", "n"})  # booleans to YAML 1.1, words to users


class _UserYAMLLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` without aliases: in text a user wrote (`--set`, a config, a recipe), `*name`
    is never needed, and nested aliases multiply a few lines into billions of values."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not accepted", mark)
        return super().compose_node(parent, index)


def load_yaml(text: str) -> Any:
    """The YAML value of `text` a user wrote; every problem, nesting too deep for the parser
    included, is a `yaml.YAMLError`, whose `problem` (when it has one) says what is wrong."""
    try:
        return yaml.load(text, Loader=_UserYAMLLoader)  # a SafeLoader: no Python objects
    except RecursionError as error:
        raise yaml.YAMLError("it is nested too deeply") from error


def parse_options(assignments: list[str]) -> dict[str, Any]:
    """`key=value` strings into a dict; values are read as YAML, so numbers, booleans and lists work.

    Dashes in keys become underscores (`--set max-steps=10` is `max_steps`), and `no` / `yes` stay
    words (`save_strategy=no` means "no", not False)."""
    overrides: dict[str, Any] = {}
    for assignment in assignments:
        key, separator, raw = assignment.partition("=")
        key = key.strip().replace("-", "_")
        if not separator or not key:
            raise UserError(f"bad --set '{assignment}': write key=value, e.g. --set learning_rate=3e-4")
        if raw.strip().lower() in YAML11_WORDS:
            overrides[key] = raw.strip()
            continue
        try:
            value = load_yaml(raw) if raw.strip() else None
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or error
            raise UserError(f"bad --set '{assignment}': the value is not valid YAML ({problem})") from error
        overrides[key] = _number_or_text(value)
    return overrides


def _number_or_text(value: Any) -> Any:
    """YAML 1.1 reads `5e-7` (no dot) as text; a user typing it means the number."""
    if isinstance(value, str):
        with suppress(ValueError):
            return float(value)
    return value


def reject_non_finite(options: Mapping[str, Any], where: str) -> None:
    """A NaN or infinite number anywhere in `options` (nested mappings and lists too) is a
    `UserError` naming it as `where` + its dotted path: no setting means anything at infinity, and
    an infinite value passes the `> 0` bounds options declare. `--set beta=inf` reads as a number."""
    for key, value in options.items():
        path = f"{where}{key}"
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"{path}: must be a finite number, got {value}")
        if isinstance(value, Mapping):
            reject_non_finite(value, f"{path}.")
        elif isinstance(value, list | tuple):
            reject_non_finite(dict(enumerate(value)), f"{path}.")
