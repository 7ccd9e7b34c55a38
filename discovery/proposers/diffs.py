"""Replies that edit a parent instead of rewriting it: SEARCH/REPLACE blocks applied to its code.

A reply's `code` field holds either a whole file or one or more blocks

    <<<<<<< SEARCH
    lines of the parent's code, exactly as they stand
    =======
    the lines that replace them
    >>>>>>> REPLACE

The blocks travel in `code` rather than in a field of their own because strict structured output
needs every field of the schema required: one field that holds either keeps the schema, and every
way the parser already finds a reply (bare, fenced, in prose), for both. No objective can contain
the SEARCH marker (the static gate would refuse it), so the marker tells the two apart.

Each SEARCH text must occur exactly once in the code as edited by the blocks before it: text that
is not there, or is there twice, is a `DiffError` saying which block and why, which the proposer
quotes in its repair turn. Matching is exact, so what is applied is what the model wrote.
"""

import re

SEARCH, DIVIDER, REPLACE = "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE"
_BLOCK = re.compile(
    rf"^{SEARCH}[ \t]*\n(.*?)^{DIVIDER}[ \t]*\n(.*?)^{REPLACE}[ \t]*$", re.DOTALL | re.MULTILINE
)


class DiffError(ValueError):
    """The blocks do not apply to the parent; the message says which block and why."""


def is_diff(code: str) -> bool:
    """Whether `code` is SEARCH/REPLACE blocks rather than a whole file."""
    return SEARCH in code


def apply_diff(parent: str, diff: str) -> str:
    """The parent's code with each block applied in turn; a `DiffError` when one does not apply."""
    blocks = _BLOCK.findall(diff)
    opened = len(re.findall(rf"^{SEARCH}[ \t]*$", diff, re.MULTILINE))
    if not blocks or len(blocks) != opened:
        raise DiffError(
            f"{opened} block(s) open with {SEARCH} but {len(blocks)} are complete: each needs a line "
            f"{DIVIDER} and a closing line {REPLACE}"
        )
    code = parent
    for number, (search, replace) in enumerate(blocks, start=1):
        if not search.strip():
            raise DiffError(f"block {number} has an empty SEARCH part: quote the lines to replace")
        found = code.count(search)
        if found == 0:
            raise DiffError(
                f"block {number}'s SEARCH text is not in the parent's code: quote its lines exactly, "
                "indentation included"
            )
        if found > 1:
            raise DiffError(
                f"block {number}'s SEARCH text occurs {found} times in the parent's code: quote enough "
                "lines to make it unique"
            )
        code = code.replace(search, replace, 1)
    return code
