"""An OpenAI-compatible judge: the `openai` client's own retries and timeouts for the transport,
our retries for replies without a parseable verdict, and token / cost accounting.

Transport failures that survive the client's retries raise `JudgeUnavailable`: an unreachable judge
says nothing about the objective being scored. Replies that stay unparseable after
`parse_attempts` tries come back as a failed judgment (value None), never as a score.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from discovery.errors import UserError
from evaluators.base import EvaluatorUnavailable

API_KEY_ENV = "OPENAI_API_KEY"
LOCAL_PLACEHOLDER_KEY = "local-judge"  # OpenAI-compatible local servers (vLLM, Ollama) ignore the key


class JudgeUnavailable(EvaluatorUnavailable):
    """The judge endpoint could not be reached or refused the request after the client's retries."""


class JudgeSettings(BaseModel):
    """How to reach and pay the judge; `model` and `base_url` are `--judge-model` / `--judge-base-url`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field("gpt-4", description="judge model name at the endpoint (MT-Bench's judge is gpt-4)")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint; None: api.openai.com")
    temperature: float = Field(0.0, ge=0, description="0: the most repeatable verdicts")
    max_tokens: int = Field(1024, gt=0, description="room for the explanation and the verdict")
    timeout: float = Field(120.0, gt=0, description="seconds per request, enforced by the openai client")
    max_retries: int = Field(5, ge=0, description="transport retries by the openai client (backoff included)")
    parse_attempts: int = Field(3, ge=1, description="requests per judgment until a verdict parses")
    concurrency: int = Field(8, ge=1, description="judge requests in flight at once")
    input_price: float | None = Field(None, ge=0, description="USD per million prompt tokens (for the cost)")
    output_price: float | None = Field(None, ge=0, description="USD per million completion tokens")

    def api_key(self) -> str:
        """OPENAI_API_KEY, or a placeholder for a local endpoint; a user error when neither applies."""
        key = os.environ.get(API_KEY_ENV)
        if key:
            return key
        if self.base_url:
            return LOCAL_PLACEHOLDER_KEY
        raise UserError(
            f"the judge needs {API_KEY_ENV} for api.openai.com, or --set judge_base_url=URL for a local "
            "OpenAI-compatible server"
        )


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
        """USD at the configured prices, or None when no price is configured."""
        if settings.input_price is None and settings.output_price is None:
            return None
        return (
            self.prompt_tokens * (settings.input_price or 0.0)
            + self.completion_tokens * (settings.output_price or 0.0)
        ) / 1e6


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
        from openai import OpenAI

        self.settings = settings
        self._client = OpenAI(
            api_key=settings.api_key(),
            base_url=settings.base_url,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )

    def judge(self, messages: list[dict[str, str]], parse: Callable[[str], float | None]) -> Reply:
        """Ask until `parse` finds a verdict or the attempts run out."""
        usage = Usage()
        text = ""
        for _ in range(self.settings.parse_attempts):
            text, spent = self._complete(messages)
            usage.add(spent)
            value = parse(text)
            if value is not None:
                return Reply(value=value, text=text, usage=usage)
        return Reply(value=None, text=text, usage=usage)

    def _complete(self, messages: list[dict[str, str]]) -> tuple[str, Usage]:
        import openai

        try:
            response = self._client.chat.completions.create(
                model=self.settings.model,
                messages=messages,
                temperature=self.settings.temperature,
                max_tokens=self.settings.max_tokens,
            )
        except openai.APIError as error:
            where = self.settings.base_url or "api.openai.com"
            raise JudgeUnavailable(f"judge {self.settings.model} at {where} failed: {error}") from error
        used = response.usage
        spent = Usage(
            requests=1,
            prompt_tokens=used.prompt_tokens if used else 0,
            completion_tokens=used.completion_tokens if used else 0,
        )
        content = response.choices[0].message.content if response.choices else None
        return content or "", spent
