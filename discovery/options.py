"""`key=value` options (`--set`) as typed values, one reading for every command."""

from contextlib import suppress
from typing import Any

import yaml

from discovery.errors import UserError

YAML11_WORDS = frozenset({"yes", "no", "on", "off", "y", "n"})  # booleans to YAML 1.1, words to users


def parse_options(assignments: list[str]) -> dict[str, Any]:
    """`key=value` strings into a dict; values are read as YAML, so numbers, booleans and lists work.

    Dashes in keys become underscores (`--set max-steps=10` is `max_steps`), and `no` / `yes` stay
    words (`save_strategy=no` means "no", not False)."""
    overrides: dict[str, Any] = {}
    for assignment in assignments:
        key, separator, raw = assignment.partition("=")
        key = key.strip().replace("-", "_")
        if not separator or not key:
            raise UserError(f"bad --set '{assignment}': write key=value, e.g. --set beta=0.1")
        if raw.strip().lower() in YAML11_WORDS:
            overrides[key] = raw.strip()
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as error:
            raise UserError(
                f"bad --set '{assignment}': the value is not valid YAML ({error.problem})"
            ) from error
        overrides[key] = _number_or_text(value)
    return overrides


def _number_or_text(value: Any) -> Any:
    """YAML 1.1 reads `5e-7` (no dot) as text; a user typing it means the number."""
    if isinstance(value, str):
        with suppress(ValueError):
            return float(value)
    return value
