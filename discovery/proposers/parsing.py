"""Read a proposal out of whatever an LLM answered: bare JSON, JSON in a code fence, or JSON in prose.

Structured output is requested where the endpoint supports it, but many local servers and models
still wrap the object in a fence or a sentence, think aloud first, or put raw newlines inside the
code string. This module accepts all of those and, when nothing usable is found, says exactly why
so the repair turn can quote it.
"""

import json
import re
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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

    thought: str = Field(min_length=1)
    name: str = Field(min_length=1)
    code: str = Field(min_length=1)


class ReplyError(ValueError):
    """The reply holds no usable proposal; the message is what the repair turn tells the model."""


def parse_reply(text: str | None) -> ProposalReply:
    """The first JSON object in `text` that is a valid proposal; raises `ReplyError` otherwise."""
    if text is None or not text.strip():
        raise ReplyError("the reply was empty")
    text = _THINKING.sub("", text).strip()
    json_error: str | None = None
    field_error: str | None = None
    for value in _decoded_objects(text):
        if isinstance(value, json.JSONDecodeError):
            json_error = json_error or f"invalid JSON: {value}"
            continue
        try:
            reply = ProposalReply.model_validate(value)
        except ValidationError as error:
            field_error = field_error or _describe(error)
            continue
        return reply.model_copy(update={"code": _unfence(reply.code)})
    raise ReplyError(field_error or json_error or "no JSON object found in the reply")


def _decoded_objects(text: str) -> Iterator[object]:
    """Every JSON value that could be the proposal, most likely first, or the decoding error.

    The whole reply and each code fence are decoded as they stand; then every `{` in the reply is
    tried as the start of an object with prose around it.
    """
    pieces = [text, *(match.group(1).strip() for match in _FENCE.finditer(text))]
    for piece in pieces:
        if piece.startswith("{"):
            try:
                yield _DECODER.decode(piece)
            except json.JSONDecodeError as error:
                yield error
    for match in re.finditer(r"\{", text):
        try:
            yield _DECODER.raw_decode(text, match.start())[0]
        except json.JSONDecodeError as error:
            yield error


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
