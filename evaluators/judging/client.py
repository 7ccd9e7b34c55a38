"""The judge: `discovery.llm`'s client for the transport, plus retries for replies without a verdict.

An unreachable judge raises `ServiceUnavailable` (it says nothing about the objective being scored),
and so does one that refuses the request itself (HTTP 400 / 422: its settings, not the answer, are
wrong, and every other request would be refused alike). Replies that stay without a parseable
verdict after `parse_attempts` tries, or bodies that are not a completion at all (HTML, invalid
JSON, cut off, too large), come back as a failed judgment (value None), never as a score.
"""

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import Field

from discovery.errors import ServiceUnavailable
from discovery.llm import EndpointSettings, LLMClient, RequestRefused


class JudgeSettings(EndpointSettings):
    """The judge's endpoint (`judge_model`, `judge_base_url`, ... as evaluator options) and sampling."""

    model: str = Field("gpt-4", description="judge model name at the endpoint (MT-Bench's judge is gpt-4)")
    timeout: float = Field(120.0, gt=0, le=86_400, description="seconds for a whole judge request")
    max_retries: int = Field(5, ge=0, le=100, description="retries of 429, 5xx, timeouts (backoff included)")
    temperature: float = Field(0.0, ge=0, description="0: the most repeatable verdicts")
    max_tokens: int = Field(1024, gt=0, description="room for the explanation and the verdict")
    parse_attempts: int = Field(3, ge=1, description="requests per judgment until a verdict parses")
    concurrency: int = Field(8, ge=1, description="judge requests in flight at once")


@dataclass
class Usage:
    """Judge requests and tokens, summed over the requests actually sent (cache hits cost nothing)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, other: "Usage") -> None:
        self.requests += other.requests
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens

    def cost(self, settings: JudgeSettings) -> float | None:
        """USD at the configured (or table) prices, or None when the price is unknown."""
        return settings.cost(self.prompt_tokens, self.completion_tokens)


@dataclass(frozen=True)
class Reply:
    """One judgment: the parsed value (None: no verdict after every attempt), the last reply text,
    and what producing it cost."""

    value: float | None
    text: str
    usage: Usage


class JudgeClient:
    """Sends judge prompts; thread-safe, so `concurrency` judgments can run at once."""

    def __init__(self, settings: JudgeSettings) -> None:
        self.settings = settings
        self._client = LLMClient(settings, role="judge")

    def judge(self, messages: list[dict[str, str]], parse: Callable[[str], float | None]) -> Reply:
        """Ask until `parse` finds a verdict or the attempts run out."""
        usage = Usage()
        text = ""
        for _ in range(self.settings.parse_attempts):
            try:
                completion = self._client.complete(
                    messages, temperature=self.settings.temperature, max_tokens=self.settings.max_tokens
                )
            except RequestRefused as refused:
                raise ServiceUnavailable(
                    f"judge {self.settings.model} at {self._client.endpoint} refused the request: {refused}"
                ) from refused
            usage.add(Usage(1, completion.prompt_tokens, completion.completion_tokens))
            text = completion.text or completion.problem or ""
            value = parse(completion.text) if completion.text is not None else None
            if value is not None:
                return Reply(value=value, text=text, usage=usage)
        return Reply(value=None, text=text, usage=usage)
