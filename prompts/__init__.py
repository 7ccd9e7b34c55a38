"""The words the project says to LLMs, kept as text files a researcher edits without touching code.

Templates use `string.Template` placeholders (`$name`) so that code and JSON braces in the text
need no escaping; a literal dollar sign is written `$$`.
"""

from importlib import resources
from string import Template


def load_prompt(name: str) -> str:
    """The text of `prompts/<name>.txt`."""
    return resources.files(__name__).joinpath(f"{name}.txt").read_text(encoding="utf-8")


def render_prompt(name: str, **fields: str) -> str:
    """`prompts/<name>.txt` with its `$placeholders` filled; a missing field raises KeyError."""
    return Template(load_prompt(name)).substitute(fields)
