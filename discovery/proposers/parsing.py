"""Read a proposal out of whatever an LLM answered: bare JSON, JSON in a code fence, or JSON in prose.

Structured output is requested where the endpoint supports it, but many local servers and models
still wrap the object in a fence or a sentence, think aloud first, or put raw newlines inside the
code string. This module accepts all of those and, when nothing usable is found, says exactly why
so the repair turn can quote it.

A field's JSON may hold a `\\ud800` escape, which decodes to a lone surrogate that no UTF-8 output
can carry: it becomes U+FFFD, and the reply says so (`replaced`), so its exchange records it.

Each field has a length limit, and so has the reply as a whole: a field over its limit makes the
reply malformed (one repair turn, then an invalid candidate), so no proposal stores, and no later
prompt carries, a 5 MB thought.
"""

import json
import re
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from discovery.llm import encodable
from discovery.objectives.gate import MAX_SOURCE_CHARS

MAX_THOUGHT_CHARS = 2_000  # "two to four sentences", with room to spare
MAX_NAME_CHARS = 80  # stored as a snake_case name of at most 40 characters
MAX_CODE_CHARS = MAX_SOURCE_CHARS  # longer code could never pass the static gate
# A reply that holds a proposal within those limits fits in this much text (JSON escapes and some
# prose included). Longer ones are refused before any search: each `{` may start a parse.
MAX_REPLY_CHARS = 2 * (MAX_THOUGHT_CHARS + MAX_NAME_CHARS + MAX_CODE_CHARS)

# The schema sent as `response_format` (strict structured output needs every field required and
# no extra properties).
REPLY_SCHEMA = {
    "type": "object",
    "properties": {
        "thought": {"type": "string"},
        "name": {"type": "string"},
        "code": {"type": "string"},
    },
    "required": ["thought", "name", "code"],
    "additionalProperties": False,
}

_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL)
_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n(.*?)```", re.DOTALL)
# Raw control characters (a literal newline inside the code string) are tolerated.
_DECODER = json.JSONDecoder(strict=False)


class ProposalReply(BaseModel):
    """The three fields every proposer reply must carry."""

    model_config = ConfigDict(str_strip_whitespace=True)

    thought: str = Field(min_length=1, max_length=MAX_THOUGHT_CHARS)
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    code: str = Field(min_length=1, max_length=MAX_CODE_CHARS)
    _replaced: str | None = PrivateAttr(None)  # never read from the reply itself

    @property
    def replaced(self) -> str | None:
        """What `parse_reply` replaced in the fields to make them encodable ("1 lone surrogate in
        the `code` field replaced by U+FFFD"), or None."""
        return self._replaced


class ReplyError(ValueError):
    """The reply holds no usable proposal; the message is what the repair turn tells the model."""


def parse_reply(text: str | None) -> ProposalReply:
    """The first JSON object in `text` that is a valid proposal; raises `ReplyError` otherwise."""
    if text is None or not text.strip():
        raise ReplyError("the reply was empty")
    text = _THINKING.sub("", text).strip()
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyError(
            f"the reply is {len(text):,} characters long; a proposal fits in {MAX_REPLY_CHARS:,} (thought at "
            f"most {MAX_THOUGHT_CHARS:,}, name {MAX_NAME_CHARS}, code {MAX_CODE_CHARS:,} characters)"
        )
    json_error: str | None = None
    field_error: str | None = None
    for value in _decoded_objects(text):
        if isinstance(value, ValueError):
            json_error = json_error or f"invalid JSON: {value}"
            continue
        value, replaced = _encodable(value)
        try:
            reply = ProposalReply.model_validate(value)
        except ValidationError as error:
            field_error = field_error or _describe(error)
            continue
        reply = reply.model_copy(update={"code": _unfence(reply.code)})
        reply._replaced = replaced
        return reply
    raise ReplyError(field_error or json_error or "no JSON object found in the reply")


def _decoded_objects(text: str) -> Iterator[object]:
    """Every JSON value that could be the proposal, most likely first, or the decoding error (a
    `ValueError`).

    The whole reply and each code fence are decoded as they stand; then every `{` in the reply is
    tried as the start of an object with prose around it.
    """
    pieces = [text, *(match.group(1).strip() for match in _FENCE.finditer(text))]
    for piece in pieces:
        if piece.startswith("{"):
            yield _decoded(piece)
    for match in re.finditer(r"\{", text):
        yield _decoded(text, match.start())


def _decoded(text: str, start: int | None = None) -> object:
    """The JSON value that is `text` (or that starts at `start`, prose after it), or the error as a
    `ValueError` (nesting too deep for the decoder too)."""
    try:
        return _DECODER.decode(text) if start is None else _DECODER.raw_decode(text, start)[0]
    except json.JSONDecodeError as error:
        return error
    except RecursionError:
        return ValueError("it is nested too deeply")


def _encodable(value: object) -> tuple[object, str | None]:
    """A decoded object with the lone surrogates in its fields replaced, and what was replaced."""
    if not isinstance(value, dict):
        return value, None
    value, notes = dict(value), []
    for field in ProposalReply.model_fields:
        if isinstance(value.get(field), str):
            value[field], note = encodable(value[field], f"the `{field}` field")
            notes += [note] if note else []
    return value, "; ".join(notes) or None


def _describe(error: ValidationError) -> str:
    """Pydantic's complaint in one line, e.g. "field `code`: Field required"."""
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        problems.append(f"field `{location}`: {item['msg']}" if location else item["msg"])
    return "the JSON object is not a proposal: " + "; ".join(problems)


def _unfence(code: str) -> str:
    """Code with a ```python fence around it unwrapped (models sometimes fence inside the JSON)."""
    match = re.fullmatch(r"```[A-Za-z0-9_-]*[ \t]*\n(.*?)\n?```", code.strip(), re.DOTALL)
    body = match.group(1) if match else code
    return body.strip("\n") + "\n"
