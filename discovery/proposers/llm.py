"""The `openai` proposer: any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp server).

Each candidate costs one request built afresh from the archive, plus at most one repair turn that
quotes the exact problem (a malformed reply, or the reason `check` rejected the code). Transport
failures are left to the `openai` client, which retries rate limits, server errors and timeouts
with exponential backoff; what is still failing after that becomes `ProposerUnavailable`, so the
loop can stop with a clear message and an intact archive.
"""

import os
import time
from typing import Any

import openai

from discovery.errors import UserError
from discovery.proposers.base import Checker, Proposal, ProposalContext, Proposer, ProposerUnavailable
from discovery.proposers.naming import unique_name
from discovery.proposers.parsing import REPLY_SCHEMA, ProposalReply, ReplyError, parse_reply
from discovery.proposers.pricing import estimate_cost
from discovery.proposers.prompting import messages_for
from discovery.records import ExchangeRecord
from prompts import render_prompt

# Local servers ignore the key but the client insists on one.
PLACEHOLDER_KEY = "not-needed"
# Strongest first; an endpoint that rejects one (HTTP 400 / 422) is asked with the next from then on.
_RESPONSE_FORMATS: tuple[dict[str, Any] | None, ...] = (
    {"type": "json_schema", "json_schema": {"name": "proposal", "schema": REPLY_SCHEMA, "strict": True}},
    {"type": "json_object"},
    None,
)


class OpenAIProposer(Proposer):
    """Proposals from a chat model, with one repair turn each and every exchange recorded."""

    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 300.0,
        max_retries: int = 4,
    ) -> None:
        """`timeout` is per request (local models can be slow); `max_retries` covers 429, 5xx, timeouts."""
        key = api_key or os.environ.get("OPENAI_API_KEY") or (PLACEHOLDER_KEY if base_url else None)
        if key is None:
            raise UserError("the openai proposer needs OPENAI_API_KEY, or --base-url for a local server")
        self._client = openai.OpenAI(api_key=key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self.model = model
        self.endpoint = str(self._client.base_url).rstrip("/")  # also honours OPENAI_BASE_URL
        self._timeout = timeout
        self._max_retries = max_retries
        self._format = 0  # index into _RESPONSE_FORMATS of the strongest format the endpoint accepts

    def propose(self, context: ProposalContext, count: int, check: Checker) -> list[Proposal]:
        taken = {candidate.name for candidate in [*context.best, *context.recent]}
        proposals: list[Proposal] = []
        for _ in range(count):
            proposal = self._propose_one(context, check, taken, [p.name for p in proposals])
            taken.add(proposal.name)
            proposals.append(proposal)
        return proposals

    def _propose_one(
        self, context: ProposalContext, check: Checker, taken: set[str], already: list[str]
    ) -> Proposal:
        messages = messages_for(context, already)
        text, exchanges = self._ask(messages, context)
        reply, problem = _judge(text, check)
        if problem is not None:
            repair = [
                *messages,
                {"role": "assistant", "content": text or ""},
                {"role": "user", "content": render_prompt("proposer_repair", problem=problem)},
            ]
            repaired_text, repair_exchanges = self._ask(repair, context)
            exchanges += repair_exchanges
            try:
                reply = parse_reply(repaired_text)
            except ReplyError as error:
                # Keep the first reply's code if it had any: the loop records why it was rejected.
                problem = f"still no usable reply after one repair turn: {error}"
        if reply is None:
            fallback = unique_name(f"unreadable_g{context.generation}", taken)
            return Proposal(name=fallback, thought="", code="", exchanges=exchanges, error=problem)
        return Proposal(
            name=unique_name(reply.name, taken), thought=reply.thought, code=reply.code, exchanges=exchanges
        )

    def _ask(
        self, messages: list[dict[str, str]], context: ProposalContext
    ) -> tuple[str | None, list[ExchangeRecord]]:
        """One completion (after the client's own retries) and the exchanges it took."""
        exchanges: list[ExchangeRecord] = []
        while True:
            response_format = _RESPONSE_FORMATS[self._format]
            extra = {"response_format": response_format} if response_format else {}
            record = ExchangeRecord(run_id=context.run_id, generation=context.generation, messages=messages)
            started = time.monotonic()
            try:
                completion = self._client.chat.completions.create(
                    model=self.model, messages=messages, **extra
                )
            except (openai.BadRequestError, openai.UnprocessableEntityError) as error:
                record.seconds = time.monotonic() - started
                record.error = _describe(error)
                exchanges.append(record)
                if response_format is None:
                    raise ProposerUnavailable(
                        f"{self.endpoint} refused the request: {record.error}"
                    ) from error
                self._format += 1  # the endpoint does not take this response_format: ask plainer
                continue
            except openai.OpenAIError as error:
                raise ProposerUnavailable(self._unavailable(error)) from error
            record.seconds = time.monotonic() - started
            text = completion.choices[0].message.content if completion.choices else None
            record.response = text
            if completion.usage is not None:
                record.prompt_tokens = completion.usage.prompt_tokens or 0
                record.completion_tokens = completion.usage.completion_tokens or 0
            record.cost_usd = estimate_cost(self.model, record.prompt_tokens, record.completion_tokens)
            exchanges.append(record)
            return text, exchanges

    def _unavailable(self, error: openai.OpenAIError) -> str:
        """One line saying why the endpoint cannot be used, after the client gave up retrying."""
        retried = f"after {self._max_retries} {'retry' if self._max_retries == 1 else 'retries'}"
        if isinstance(error, openai.APITimeoutError):
            return f"{self.endpoint} did not answer within {self._timeout:g} s ({retried})"
        if isinstance(error, openai.APIConnectionError):
            return f"cannot reach {self.endpoint}: {error.__cause__ or error} ({retried})"
        if isinstance(error, openai.RateLimitError):
            return f"{self.endpoint} is still rate-limiting ({retried}): {_describe(error)}"
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return f"{self.endpoint} refused the API key: {_describe(error)}"
        if isinstance(error, openai.NotFoundError):
            return f"{self.endpoint} does not serve model '{self.model}': {_describe(error)}"
        if isinstance(error, openai.APIStatusError):
            return (
                f"{self.endpoint} keeps failing with HTTP {error.status_code} ({retried}): {_describe(error)}"
            )
        return f"{self.endpoint} failed: {error}"


def _judge(text: str | None, check: Checker) -> tuple[ProposalReply | None, str | None]:
    """The parsed reply and the problem to send back in a repair turn (None when it is usable)."""
    try:
        reply = parse_reply(text)
    except ReplyError as error:
        return None, f"it is not a JSON object with the string fields thought, name and code: {error}"
    reason = check(reply.code)
    return reply, (None if reason is None else f"the candidate was rejected: {reason}")


def _describe(error: openai.OpenAIError) -> str:
    """The server's own error message when it sent one, else the client's."""
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error")
        message = body.get("message") or (inner.get("message") if isinstance(inner, dict) else inner)
        if message:
            return str(message)
    return str(getattr(error, "message", None) or error)
