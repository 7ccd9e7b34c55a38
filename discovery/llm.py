"""One client for every OpenAI-compatible endpoint the project talks to: the proposer's and the judge's.

The `openai` client does the transport: connection pooling, and retries with exponential backoff
for rate limits, server errors, dropped connections and timeouts. On top of it this module adds
what an unattended run needs from an endpoint that may be anything answering at `--base-url`:

- one rule for the API key (`OPENAI_API_KEY`, or a placeholder for a local server);
- a deadline on the whole answer, not only on each read, so a server that trickles bytes is cut
  off, and a size cap on the reply, so a server cannot flood the archive or the next prompt;
- a body that is not a chat completion (HTML, an empty 200, invalid JSON, JSON nested too deep to
  parse), or one that cannot be read to its end (the connection drops, it stalls past the timeout,
  its encoding is corrupt), is a `Completion` with no text and the reason, which callers treat
  like any malformed reply, never a traceback;
- text that no UTF-8 output can carry never gets past this module: bytes that are not UTF-8 in a
  body, and lone surrogates (which JSON's `\\ud800` escapes make), become U+FFFD, and the
  completion says so, so the archive, logs, prompts and screens only ever see encodable text;
- token usage and a cost estimate (configured prices, else a table of public list prices);
- one error, `ServiceUnavailable`, once the endpoint stays unreachable after the retries.
"""

import json
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from discovery.errors import ServiceUnavailable, UserError

API_KEY_ENV = "OPENAI_API_KEY"
PLACEHOLDER_KEY = "not-needed"  # local OpenAI-compatible servers (vLLM, Ollama) ignore the key
OPENAI_URL = "https://api.openai.com/v1"

# USD per million tokens (input, output), public list prices as the providers gave them in 2025.
# They change: the figure is an estimate shown next to the token counts, never a bill. Models not in
# the table get no estimate rather than a wrong one, unless prices are configured.
_PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4": (30.0, 60.0),
    "gpt-4-turbo": (10.0, 30.0),
    "gpt-4o": (2.50, 10.0),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.0),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5-nano": (0.05, 0.40),
    "o3": (2.0, 8.0),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
}
# In text decoded from JSON a surrogate pair is already one character: every surrogate left is lone.
_SURROGATE = re.compile("[\ud800-\udfff]")

# A dated snapshot ("gpt-4o-2024-08-06", "gpt-4-0613") costs what its family costs.
_SNAPSHOT = re.compile(r"^(?P<family>.+?)(?:-\d{4}-\d{2}-\d{2}|-\d{4})?$")


def _http_url(value: str) -> str:
    """An http(s) URL with a host, checked when it is given rather than at the first request."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (reading it checks it: `http://host:x` has no port number)
    except ValueError as error:
        raise ValueError(f"'{value}' is not a URL: {error}") from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{value}' is not an http:// or https:// URL with a host")
    return value


# An endpoint's base URL; the check travels with the type into the evaluators' flat option models.
EndpointURL = Annotated[str, AfterValidator(_http_url)]


class EndpointSettings(BaseModel):
    """How to reach one OpenAI-compatible endpoint, and what to accept from it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1, description="model name at the endpoint")
    base_url: EndpointURL | None = Field(None, description="OpenAI-compatible endpoint; None: api.openai.com")
    timeout: float = Field(
        300.0, gt=0, le=86_400, description="seconds for a whole request, first byte to last"
    )
    connect_timeout: float = Field(10.0, gt=0, le=3600, description="seconds to open a connection")
    max_retries: int = Field(4, ge=0, le=100, description="retries of 429, 5xx, timeouts (backoff included)")
    max_reply_bytes: int = Field(
        1_000_000, ge=1024, le=100_000_000, description="a longer reply is cut off and refused"
    )
    input_price: float | None = Field(
        None, ge=0, description="USD per million prompt tokens (default: table)"
    )
    output_price: float | None = Field(None, ge=0, description="USD per million completion tokens")

    def api_key(self) -> str:
        """`OPENAI_API_KEY`, or a placeholder for a local endpoint; a user error when neither applies."""
        key = os.environ.get(API_KEY_ENV)
        if key:
            return key
        if self.base_url:
            return PLACEHOLDER_KEY
        raise UserError(
            f"{self.model} at api.openai.com needs {API_KEY_ENV}, or a base URL for a local server"
        )

    @property
    def where(self) -> str:
        return (self.base_url or OPENAI_URL).rstrip("/")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Estimated USD: the configured prices, else the table's; None when neither knows the model."""
        prices = (
            (self.input_price or 0.0, self.output_price or 0.0)
            if self.input_price is not None or self.output_price is not None
            else _table_prices(self.model)
        )
        if prices is None:
            return None
        return (prompt_tokens * prices[0] + completion_tokens * prices[1]) / 1_000_000


@dataclass(frozen=True)
class Completion:
    """One answer: its text (None when the body held none, `problem` then says why) and its cost.
    With text, `problem` says what in the body had to be replaced on arrival, if anything."""

    text: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    seconds: float
    problem: str | None = None


class RequestRefused(Exception):
    """The endpoint refused this request (HTTP 400 / 422), e.g. a `response_format` it does not know;
    the message is the server's."""


class LLMClient:
    """Chat completions from one endpoint; thread-safe (the judge sends several requests at once)."""

    def __init__(self, settings: EndpointSettings, role: str) -> None:
        """`role` names the endpoint's job in messages ("proposer", "judge")."""
        import openai

        self.settings = settings
        self.role = role
        timeout = openai.Timeout(settings.timeout, connect=settings.connect_timeout)
        self._client = openai.OpenAI(
            api_key=settings.api_key(),
            base_url=settings.base_url,
            timeout=timeout,
            max_retries=settings.max_retries,
        )
        self.endpoint = str(self._client.base_url).rstrip("/")  # also honours OPENAI_BASE_URL

    def complete(self, messages: list[dict[str, str]], **parameters: Any) -> Completion:
        """One chat completion within the deadline; raises `RequestRefused` or `ServiceUnavailable`."""
        import openai

        started = time.monotonic()
        try:
            with self._client.chat.completions.with_streaming_response.create(
                model=self.settings.model, messages=messages, **parameters
            ) as response:
                body, problem = self._read_body(response)
        except (openai.BadRequestError, openai.UnprocessableEntityError) as error:
            raise RequestRefused(describe_error(error)) from error
        except openai.OpenAIError as error:
            raise ServiceUnavailable(
                encodable(f"{self.role} {self.settings.model}: {self._unavailable(error)}")[0]
            ) from error
        seconds = time.monotonic() - started
        if problem is not None:
            return Completion(None, 0, 0, None, seconds, problem)
        return self._completion(body, seconds)

    def _read_body(self, response) -> tuple[bytes, str | None]:
        """The body, read in chunks against a deadline for the whole body and the size cap.

        The headers are bounded by the client's own timeout (per attempt; failed attempts are
        retried by the client), the body as a whole by this deadline, so a trickling server is cut off.
        """
        started = time.monotonic()
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.settings.max_reply_bytes:
                    return (
                        b"",
                        f"the reply is longer than {self.settings.max_reply_bytes} bytes and was cut off",
                    )
                if time.monotonic() - started > self.settings.timeout:
                    return b"", f"the reply did not finish within {self.settings.timeout:g} s and was cut off"
                chunks.append(chunk)
        except _transport_errors(response) as error:  # after the headers, the client does not retry
            return b"", f"the reply broke off after {size} bytes: {error or type(error).__name__}"
        return b"".join(chunks), None

    def _completion(self, body: bytes, seconds: float) -> Completion:
        from openai.types.chat import ChatCompletion

        replaced: list[str] = []
        try:
            try:
                document = json.loads(body)
            except UnicodeDecodeError:  # a JSON body is UTF-8 (RFC 8259): keep what does decode
                document = json.loads(body.decode("utf-8", "replace"))
                replaced.append("bytes that are not UTF-8 in the body replaced by U+FFFD")
            completion = ChatCompletion.model_validate(document)
        except (ValueError, ValidationError, RecursionError):  # ValueError: bad JSON
            shown = body[:80].decode("utf-8", "replace").strip() or "an empty body"
            return Completion(
                None, 0, 0, None, seconds, f"the endpoint's answer is not a chat completion: {shown!r}"
            )
        usage = completion.usage
        prompt_tokens = (usage.prompt_tokens or 0) if usage else 0
        completion_tokens = (usage.completion_tokens or 0) if usage else 0
        text = completion.choices[0].message.content if completion.choices else None
        if text is not None:
            text, note = encodable(text, "the message")
            replaced += [note] if note else []
        problem = None if text is not None else "the completion holds no message text"
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=self.settings.cost(prompt_tokens, completion_tokens),
            seconds=seconds,
            problem=problem or ("; ".join(replaced) or None),
        )

    def _unavailable(self, error: Exception) -> str:
        """One line saying why the endpoint cannot be used, after the client gave up retrying."""
        import openai

        retries = self.settings.max_retries
        retried = f"after {retries} {'retry' if retries == 1 else 'retries'}"
        if isinstance(error, openai.APITimeoutError):
            return f"{self.endpoint} did not answer within {self.settings.timeout:g} s ({retried})"
        if isinstance(error, openai.APIConnectionError):
            return f"cannot reach {self.endpoint}: {error.__cause__ or error} ({retried})"
        if isinstance(error, openai.RateLimitError):
            return f"{self.endpoint} is still rate-limiting ({retried}): {describe_error(error)}"
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return f"{self.endpoint} refused the API key: {describe_error(error)}"
        if isinstance(error, openai.NotFoundError):
            return f"{self.endpoint} does not serve model '{self.settings.model}': {describe_error(error)}"
        if isinstance(error, openai.APIStatusError):
            return (
                f"{self.endpoint} keeps failing with HTTP {error.status_code} ({retried}): "
                f"{describe_error(error)}"
            )
        return f"{self.endpoint} failed: {error}"


def _transport_errors(response: Any) -> tuple[type[Exception], ...]:
    """What reading a body can raise in the HTTP library under the `openai` client (httpx, httpx2 in
    newer releases): a dropped connection, a read timeout, a content encoding that does not decode."""
    library = sys.modules[type(response.http_response).__module__.partition(".")[0]]
    return (library.HTTPError, library.StreamError)


def describe_error(error: Exception) -> str:
    """The server's own error message when it sent one, else the client's."""
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error")
        message = body.get("message") or (inner.get("message") if isinstance(inner, dict) else inner)
        if message:
            return encodable(str(message))[0]
    return encodable(str(getattr(error, "message", None) or error))[0]


def encodable(text: str, where: str = "the text") -> tuple[str, str | None]:
    """`text` with its lone surrogates replaced by U+FFFD, and a note of how many there were in
    `where` (None when there were none): text an endpoint sent, made writable everywhere."""
    text, surrogates = _SURROGATE.subn("\ufffd", text)
    if not surrogates:
        return text, None
    plural = "" if surrogates == 1 else "s"
    return text, f"{surrogates} lone surrogate{plural} in {where} replaced by U+FFFD"


def _table_prices(model: str) -> tuple[float, float] | None:
    key = model.lower().rsplit("/", 1)[-1]  # "openai/gpt-4o" as routers spell it
    match = _SNAPSHOT.match(key)
    return _PRICES_PER_MILLION.get(key) or (_PRICES_PER_MILLION.get(match["family"]) if match else None)
