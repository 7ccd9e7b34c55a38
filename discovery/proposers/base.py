"""The interface between the loop and any proposer (an LLM endpoint, the offline built-in one)."""

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, Field

from discovery.archive import Archive
from discovery.records import CandidateRecord, ExchangeRecord


@dataclass(frozen=True)
class Check:
    """What the loop says of a draft before it is offered: proposers spend a repair turn on `reason`,
    and the built-in one steers away from behaviours it has already tried."""

    reason: str | None  # None: it passes the sandbox and duplicates nothing archived
    behaviour: list[float] | None  # its unit gradient signature from the sandbox; None if rejected there


Checker = Callable[[str], Check]


class ProposalContext(BaseModel):
    """What a proposer is shown: the archive's best and most recent candidates with their figures,
    and the run's seeds. A proposer knows the objectives its run seeded and nothing else shipped, so
    that a run seeded without the losses known to win (`benchmarks/rediscovery.py`) must find them."""

    run_id: str
    generation: int
    evaluator: str
    figures: dict[str, str]  # what fitness and the other figures mean, from the evaluator
    best: list[CandidateRecord]  # scored, best first
    recent: list[CandidateRecord]  # the latest proposals of any status, newest last (feedback)
    seeds: list[CandidateRecord] = Field(default_factory=list)  # the run's seeds, scored or not yet
    island: int | None = None  # the island the requested proposals will belong to (None: no islands)
    elites: list[CandidateRecord] = Field(default_factory=list)  # best of other behaviour cells/islands
    summary: str | None = None  # the run's latest meta-summary of what worked and what did not


class Proposal(BaseModel):
    """One candidate objective as proposed (after at most one repair turn)."""

    name: str
    thought: str
    code: str
    parents: list[str] = Field(default_factory=list)  # candidate ids it was derived from
    exchanges: list[ExchangeRecord] = Field(default_factory=list)  # the LLM turns that produced it
    error: str | None = None  # set when no usable reply came back (malformed even after repair)


@dataclass(frozen=True)
class MetaSummary:
    """A proposer's summary of the run so far, and the LLM turns that wrote it."""

    text: str | None  # None: no usable text came back (the exchanges say why)
    exchanges: list[ExchangeRecord]


class Proposer(ABC):
    name: ClassVar[str]

    @abstractmethod
    def propose(self, context: ProposalContext, count: int, check: Checker) -> list[Proposal]:
        """Return `count` proposals for the next generation."""

    def attach(self, archive: Archive) -> None:  # noqa: B027  (optional: most proposers keep no state)
        """Let the proposer read the run's archive, before its first request: a proposer with state
        (the LLM ensemble's bandit) derives it from there, so a resumed run continues it exactly.
        Stateless proposers ignore it."""

    def summarise(self, context: ProposalContext) -> MetaSummary | None:
        """A meta-summary of the run for the requests of `context.generation`, when one is due
        (None: not due, or this proposer writes none)."""
        return None
