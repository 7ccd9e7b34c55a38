"""Text from outside (an LLM reply, a candidate's name or thought, a server's message) made safe to show.

The archive keeps what arrived, byte for byte; every path that shows stored text to a person or
to the proposer (a terminal, a plain log, the browser, the report, the next prompt) passes it
through `visible` first. A terminal acts on escape sequences (ESC and the 8-bit C1 controls: a
title change, an OSC 52 clipboard write, an OSC 8 link, cursor moves that hide lines), bidi
controls reorder what a reader sees against what is there, and a lone surrogate cannot be encoded
at all: each becomes its Python escape (`\\x1b`, `\\u202e`, `\\ud800`), visible and inert.
"""

import re

# C0 controls but tab and newline, DEL and the C1 controls; the bidi embeddings, overrides and
# isolates and the invisible marks that steer them; line and paragraph separators (a line break a
# plain log does not expect); lone surrogates (which no UTF-8 output can carry).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_ON_ONE_LINE = re.compile(f"[\t\n]|{_UNSAFE.pattern}")


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, one_line: bool = False) -> str:
    """`text` with every control character, bidi control and lone surrogate written as its escape;
    newlines and tabs stay unless `one_line` (then they are escaped too)."""
    return (_UNSAFE_ON_ONE_LINE if one_line else _UNSAFE).sub(_escape, text)


def has_unsafe(text: str) -> bool:
    """Whether `visible` would change `text` (newlines and tabs aside)."""
    return _UNSAFE.search(text) is not None
