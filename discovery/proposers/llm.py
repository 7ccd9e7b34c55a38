"""The `openai` proposer: any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp server).

Each candidate costs one request built afresh from the archive, plus at most one repair turn that
quotes the exact problem (a malformed reply, or the reason `check` rejected the code). The endpoint
is reached through `discovery.llm`: retries, the whole-request deadline, the reply size cap and
`ServiceUnavailable` when it stays down, so the loop can stop with a clear message and an intact
archive.
"""

import time
from typing import Any

from discovery.errors import ServiceUnavailable
from discovery.llm import Completion, EndpointSettings, LLMClient, RequestRefused
from discovery.proposers.base import Checker, Proposal, ProposalContext, Proposer
from discovery.proposers.naming import unique_name
from discovery.proposers.parsing import (
    MAX_REPLY_CHARS,
    REPLY_SCHEMA,
    ProposalReply,
    ReplyError,
    parse_reply,
)
from discovery.proposers.prompting import clipped, messages_for
from discovery.records import ExchangeRecord
from discovery.untrusted import visible
from prompts import render_prompt

# Strongest first; an endpoint that rejects one (HTTP 400 / 422) is asked with the next from then on.
_RESPONSE_FORMATS: tuple[dict[str, Any] | None, ...] = (
    {"type": "json_schema", "json_schema": {"name": "proposal", "schema": REPLY_SCHEMA, "strict": True}},
    {"type": "json_object"},
    None,
)


class OpenAIProposer(Proposer):
    """Proposals from a chat model, with one repair turn each and every exchange recorded."""

    name = "openai"

    def __init__(self, endpoint: EndpointSettings) -> None:
        self._client = LLMClient(endpoint, role="proposer")
        self.model = endpoint.model
        self.endpoint = self._client.endpoint
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
        answer, exchanges = self._ask(messages, context)
        reply, problem = _parse_and_check(answer, check)
        _note_replaced(exchanges, reply)
        if problem is not None:
            repair = [
                *messages,
                {"role": "assistant", "content": visible(clipped(answer.text or "", MAX_REPLY_CHARS))},
                {"role": "user", "content": render_prompt("proposer_repair", problem=visible(problem))},
            ]
            repaired, repair_exchanges = self._ask(repair, context)
            try:
                reply = _read(repaired)
                _note_replaced(repair_exchanges, reply)
            except ReplyError as error:
                # Keep the first reply's code if it had any: the loop records why it was rejected.
                problem = f"still no usable reply after one repair turn: {error}"
            exchanges += repair_exchanges
        if reply is None:
            fallback = unique_name(f"unreadable_g{context.generation}", taken)
            return Proposal(name=fallback, thought="", code="", exchanges=exchanges, error=problem)
        return Proposal(
            name=unique_name(reply.name, taken), thought=reply.thought, code=reply.code, exchanges=exchanges
        )

    def _ask(
        self, messages: list[dict[str, str]], context: ProposalContext
    ) -> tuple[Completion, list[ExchangeRecord]]:
        """One completion (after the client's own retries) and the exchanges it took.

        A body that is not a completion comes back as text None with the problem recorded, so the
        caller spends its repair turn on it like on any malformed reply."""
        exchanges: list[ExchangeRecord] = []
        while True:
            response_format = _RESPONSE_FORMATS[self._format]
            extra = {"response_format": response_format} if response_format else {}
            started = time.monotonic()
            try:
                completion = self._client.complete(messages, **extra)
            except RequestRefused as refused:
                exchanges.append(
                    _exchange(context, messages, seconds=time.monotonic() - started, error=str(refused))
                )
                if response_format is None:
                    raise ServiceUnavailable(f"{self.endpoint} refused the request: {refused}") from refused
                self._format += 1  # the endpoint does not take this response_format: ask plainer
                continue
            exchanges.append(_exchange(context, messages, completion=completion))
            return completion, exchanges


def _exchange(
    context: ProposalContext,
    messages: list[dict[str, str]],
    completion: Completion | None = None,
    seconds: float = 0.0,
    error: str | None = None,
) -> ExchangeRecord:
    record = ExchangeRecord(run_id=context.run_id, generation=context.generation, messages=messages)
    if completion is None:
        return record.model_copy(update={"seconds": seconds, "error": error})
    return record.model_copy(
        update={
            "response": completion.text,
            "error": completion.problem,
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "cost_usd": completion.cost_usd,
            "seconds": completion.seconds,
        }
    )


def _note_replaced(exchanges: list[ExchangeRecord], reply: ProposalReply | None) -> None:
    """The last exchange, which answered `reply`, says what was replaced in the reply's fields."""
    if reply is not None and reply.replaced:
        last = exchanges[-1]
        exchanges[-1] = last.model_copy(
            update={"error": "; ".join(filter(None, (last.error, reply.replaced)))}
        )


def _read(answer: Completion) -> ProposalReply:
    """The proposal in an answer; a body that held no completion at all is a `ReplyError` naming
    what the endpoint sent (HTML, a cut-off body, ...), so the candidate's recorded reason says so."""
    if answer.text is None and answer.problem is not None:
        raise ReplyError(answer.problem)
    return parse_reply(answer.text)


def _parse_and_check(answer: Completion, check: Checker) -> tuple[ProposalReply | None, str | None]:
    """The parsed reply and the problem to send back in a repair turn (None when it is usable)."""
    try:
        reply = _read(answer)
    except ReplyError as error:
        return None, f"it is not a JSON object with the string fields thought, name and code: {error}"
    reason = check(reply.code).reason
    return reply, (None if reason is None else f"the candidate was rejected: {reason}")
