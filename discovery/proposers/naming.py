"""Candidate names: snake_case identifiers that stay readable in tables and unique within a run."""

import re
from collections.abc import Collection

_MAX_LENGTH = 40


def snake_case(raw: str) -> str:
    """`raw` as a lower-case identifier of at most 40 characters ("candidate" when nothing is left)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", raw.strip())
    name = re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")
    if len(name) > _MAX_LENGTH:
        name = name[:_MAX_LENGTH].rsplit("_", 1)[0] if "_" in name[:_MAX_LENGTH] else name[:_MAX_LENGTH]
    if not name:
        return "candidate"
    return f"objective_{name}" if name[0].isdigit() else name


def unique_name(raw: str, taken: Collection[str]) -> str:
    """`snake_case(raw)`, with a numeric suffix when that name is already taken."""
    base = snake_case(raw)
    if base not in taken:
        return base
    suffix = 2
    while f"{base}_{suffix}" in taken:
        suffix += 1
    return f"{base}_{suffix}"
