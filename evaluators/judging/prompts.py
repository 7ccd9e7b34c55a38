"""The judge's words: text files in `prompts/` that a researcher edits without touching code, and
the parsers for the verdict formats those files ask for.

A prompt file is the system message, a line holding only `---`, then the user message template with
`$name` placeholders (`string.Template`, so braces in answers and code need no escaping).
"""

import re
from dataclasses import dataclass
from functools import cache
from string import Template

import prompts

SEPARATOR = "\n---\n"
RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")
RATING_LOOSE = re.compile(r"\[\s*(\d+(?:\.\d+)?)\s*\]")  # judges sometimes drop one bracket pair
VERDICT = re.compile(r"\[\[\s*([ABC])\s*\]\]")
VERDICT_PREFERENCE = {"A": 1.0, "B": 0.0, "C": 0.5}  # preference for answer A


@dataclass(frozen=True)
class JudgePrompt:
    """One judge prompt: a fixed system message and a user message template."""

    name: str
    system: str
    user: Template

    def messages(self, **fields: str) -> list[dict[str, str]]:
        """Chat messages for the judge; a missing field is a programming error (KeyError)."""
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.user.substitute(**fields)},
        ]


@cache
def load_judge_prompt(name: str) -> JudgePrompt:
    """The judge prompt `prompts/<name>.txt`."""
    text = prompts.load_prompt(name)
    system, separator, user = text.partition(SEPARATOR)
    if not separator:  # a prompt without a system part (a block inserted into another prompt)
        system, user = "", text
    return JudgePrompt(name=name, system=system.strip(), user=Template(user.strip("\n")))


def parse_rating(reply: str) -> float | None:
    """The last "[[r]]" rating in 1..10 of a reply (else the last "[r]"), or None when there is none."""
    for pattern in (RATING, RATING_LOOSE):
        found = pattern.findall(reply)
        if found:
            rating = float(found[-1])
            return rating if 1 <= rating <= 10 else None
    return None


def parse_verdict(reply: str) -> float | None:
    """Preference for answer A from the last "[[A]]" / "[[B]]" / "[[C]]" (tie) of a reply, or None."""
    found = VERDICT.findall(reply)
    return VERDICT_PREFERENCE[found[-1]] if found else None
