"""The `openai` proposer: an ensemble of models on OpenAI-compatible chat endpoints (OpenAI, vLLM,
Ollama, llama.cpp server); one model is the ensemble of one.

Each candidate costs one request built afresh from the archive, plus at most one repair turn that
quotes the exact problem (a malformed reply, blocks that do not apply to the parent, or the reason
`check` rejected the code). The model of each request is chosen by a bandit on improvement per cost
(`discovery.proposers.bandit`), whose state is derived from the run's archive (`attach`). A request
names a parent from the best and the elites, and a reply may be a whole file or SEARCH/REPLACE blocks
that edit the parent (`discovery.proposers.diffs`); a candidate made by editing records its parent.
Every `summary_interval` generations, one more request asks the first model for a meta-summary of
the run, which the loop stores and shows to later requests.

The endpoints are reached through `discovery.llm`: retries, the whole-request deadline, the reply
size cap and `ServiceUnavailable` when one stays down, so the loop can stop with a clear message
and an intact archive.
"""

import random
import time
from dataclasses import dataclass
from typing import Any

from discovery.archive import Archive
from discovery.errors import ServiceUnavailable
from discovery.llm import Completion, EndpointSettings, LLMClient, RequestRefused
from discovery.proposers.bandit import ModelRecord, choose, draw_seed, records
from discovery.proposers.base import Checker, MetaSummary, Proposal, ProposalContext, Proposer
from discovery.proposers.diffs import DiffError, apply_diff, is_diff
from discovery.proposers.naming import unique_name
from discovery.proposers.parsing import (
    MAX_REPLY_CHARS,
    REPLY_SCHEMA,
    ProposalReply,
    ReplyError,
    parse_reply,
)
from discovery.proposers.prompting import MAX_SUMMARY_CHARS, clipped, messages_for, summary_messages
from discovery.records import CandidateRecord, ExchangeRecord
from discovery.untrusted import visible
from prompts import render_prompt

# Strongest first; an endpoint that rejects one (HTTP 400 / 422) is asked with the next from then on.
_RESPONSE_FORMATS: tuple[dict[str, Any] | None, ...] = (
    {"type": "json_schema", "json_schema": {"name": "proposal", "schema": REPLY_SCHEMA, "strict": True}},
    {"type": "json_object"},
    None,
)


@dataclass
class _Member:
    """One model of the ensemble: its client, and the strongest response format its endpoint takes."""

    client: LLMClient
    format: int = 0  # index into _RESPONSE_FORMATS


class OpenAIProposer(Proposer):
    """Proposals from an ensemble of chat models, with one repair turn each and every exchange recorded."""

    name = "openai"

    def __init__(self, *endpoints: EndpointSettings, summary_interval: int = 0, random_seed: int = 0) -> None:
        """`endpoints`: one per model, the first also writes the meta-summaries (0: none)."""
        if not endpoints:
            raise ValueError("an ensemble needs at least one model")
        self._members = {
            endpoint.model: _Member(LLMClient(endpoint, role="proposer")) for endpoint in endpoints
        }
        self.endpoints = {model: member.client.endpoint for model, member in self._members.items()}
        self._summary_interval = summary_interval
        self._random_seed = random_seed
        self._archive: Archive | None = None

    def attach(self, archive: Archive) -> None:
        self._archive = archive

    def propose(self, context: ProposalContext, count: int, check: Checker) -> list[Proposal]:
        taken = {candidate.name for candidate in [*context.best, *context.recent]}
        history = self._history()  # rewards arrive after training: one state for the whole generation
        proposals: list[Proposal] = []
        for slot in range(count):
            rng = draw_seed(self._random_seed, context.generation, slot, context.island)
            model = choose(history, rng)
            proposal = self._propose_one(
                context, check, taken, [p.name for p in proposals], model, _parent(context, rng)
            )
            taken.add(proposal.name)
            proposals.append(proposal)
        return proposals

    def summarise(self, context: ProposalContext) -> MetaSummary | None:
        """The first model's meta-summary, before every `summary_interval`-th generation after the first."""
        interval, generation = self._summary_interval, context.generation
        if not interval or generation <= interval or (generation - 1) % interval:
            return None
        answer, exchanges = self._ask(next(iter(self._members)), summary_messages(context), context, False)
        text = (answer.text or "").strip()
        return MetaSummary(clipped(text, MAX_SUMMARY_CHARS) if text else None, exchanges)

    def _history(self) -> dict[str, ModelRecord]:
        """Each model's record in the attached archive (none attached: nothing tried yet)."""
        if self._archive is not None:
            return records(self._archive, list(self._members))
        return {model: ModelRecord((), 0, None, 0) for model in self._members}

    def _propose_one(
        self,
        context: ProposalContext,
        check: Checker,
        taken: set[str],
        already: list[str],
        model: str,
        parent: CandidateRecord | None,
    ) -> Proposal:
        messages = messages_for(context, already, parent)
        answer, exchanges = self._ask(model, messages, context)
        reply, edited, problem = _parse_and_check(answer, check, parent)
        _note_replaced(exchanges, reply)
        if problem is not None:
            repair = [
                *messages,
                {"role": "assistant", "content": visible(clipped(answer.text or "", MAX_REPLY_CHARS))},
                {"role": "user", "content": render_prompt("proposer_repair", problem=visible(problem))},
            ]
            repaired, repair_exchanges = self._ask(model, repair, context)
            try:
                reply, edited = _read(repaired, parent)
                _note_replaced(repair_exchanges, reply)
            except (ReplyError, DiffError) as error:
                # Keep the first reply's code if it had any: the loop records why it was rejected.
                problem = f"still no usable reply after one repair turn: {error}"
            exchanges += repair_exchanges
        if reply is None:
            fallback = unique_name(f"unreadable_g{context.generation}", taken)
            return Proposal(name=fallback, thought="", code="", exchanges=exchanges, error=problem)
        return Proposal(
            name=unique_name(reply.name, taken),
            thought=reply.thought,
            code=reply.code,
            parents=[edited] if edited else [],
            exchanges=exchanges,
        )

    def _ask(
        self, model: str, messages: list[dict[str, str]], context: ProposalContext, structured: bool = True
    ) -> tuple[Completion, list[ExchangeRecord]]:
        """One completion from `model` (after the client's own retries) and the exchanges it took;
        `structured`: asking for the proposal's JSON, in the strongest format the endpoint takes.

        A body that is not a completion comes back as text None with the problem recorded, so the
        caller spends its repair turn on it like on any malformed reply."""
        member = self._members[model]
        exchanges: list[ExchangeRecord] = []
        while True:
            response_format = _RESPONSE_FORMATS[member.format] if structured else None
            extra = {"response_format": response_format} if response_format else {}
            started = time.monotonic()
            try:
                completion = member.client.complete(messages, **extra)
            except RequestRefused as refused:
                seconds = time.monotonic() - started
                exchanges.append(_exchange(context, model, messages, seconds=seconds, error=str(refused)))
                if response_format is None:
                    raise ServiceUnavailable(
                        f"{member.client.endpoint} refused the request: {refused}"
                    ) from refused
                member.format += 1  # the endpoint does not take this response_format: ask plainer
                continue
            exchanges.append(_exchange(context, model, messages, completion=completion))
            return completion, exchanges


def _parent(context: ProposalContext, rng: random.Random) -> CandidateRecord | None:
    """The candidate a request offers to edit: drawn evenly from the best and the elites of other
    cells or islands, so edits explore beyond the leader."""
    pool = list({c.id: c for c in [*context.best, *context.elites] if c.code.strip()}.values())
    return rng.choice(pool) if pool else None


def _exchange(
    context: ProposalContext,
    model: str,
    messages: list[dict[str, str]],
    completion: Completion | None = None,
    seconds: float = 0.0,
    error: str | None = None,
) -> ExchangeRecord:
    record = ExchangeRecord(
        run_id=context.run_id, generation=context.generation, model=model, messages=messages
    )
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


def _read(answer: Completion, parent: CandidateRecord | None) -> tuple[ProposalReply, str | None]:
    """The proposal in an answer, with its SEARCH/REPLACE blocks applied to the parent's code, and
    the parent's id when it edited the parent.

    A body that held no completion at all is a `ReplyError` naming what the endpoint sent (HTML, a
    cut-off body, ...), so the candidate's recorded reason says so; blocks that do not apply are a
    `DiffError` saying which and why."""
    if answer.text is None and answer.problem is not None:
        raise ReplyError(answer.problem)
    reply = parse_reply(answer.text)
    if not is_diff(reply.code):
        return reply, None
    if parent is None:
        raise DiffError("the code holds SEARCH/REPLACE blocks, but no parent was named: send the whole file")
    try:
        code = apply_diff(parent.code, reply.code)
    except DiffError as error:
        raise DiffError(
            f"its SEARCH/REPLACE blocks do not apply to the parent {parent.id}: {error}"
        ) from error
    return reply.model_copy(update={"code": code}), parent.id


def _parse_and_check(
    answer: Completion, check: Checker, parent: CandidateRecord | None
) -> tuple[ProposalReply | None, str | None, str | None]:
    """The usable reply, the parent it edited, and the problem to send back in a repair turn (None
    when it is usable)."""
    try:
        reply, edited = _read(answer, parent)
    except DiffError as error:
        return None, None, str(error)
    except ReplyError as error:
        return None, None, f"it is not a JSON object with the string fields thought, name and code: {error}"
    reason = check(reply.code).reason
    return reply, edited, (None if reason is None else f"the candidate was rejected: {reason}")
