"""The records that flow between proposer, loop, archive and browser (pydantic in, pydantic out)."""

from datetime import datetime, timezone
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field

from evaluators.base import EvaluationResult


def now() -> datetime:
    """Timestamps are timezone-aware UTC everywhere."""
    return datetime.now(timezone.utc)


class CandidateStatus(str, Enum):
    """Where a candidate stands. Only `proposed` and `validated` are transient."""

    PROPOSED = "proposed"  # written by the proposer, not yet checked
    VALIDATED = "validated"  # passed the sandbox and is not a duplicate; training pending
    INVALID = "invalid"  # rejected by the sandbox (stage + reason)
    DUPLICATE = "duplicate"  # fingerprint matches an archived objective (reason names it)
    FAILED = "failed"  # training or scoring raised (reason holds the error)
    SCORED = "scored"  # has metrics


class RunStatus(str, Enum):
    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"


class RunRecord(BaseModel):
    """One `discover run`: its full configuration and library versions, for reproduction."""

    id: str
    config: dict[str, Any]
    versions: dict[str, str]
    evaluator: str
    proposer: str
    generations_done: int = 0
    status: RunStatus = RunStatus.RUNNING
    started: datetime = Field(default_factory=now)
    ended: datetime | None = None


class ReportedFigures(BaseModel):
    """Figures published for a shipped objective, kept apart from anything this project measured."""

    source: str
    figures: dict[str, float]


class CandidateRecord(BaseModel):
    """One objective in a run: a shipped seed or a proposal, with its verdict and figures."""

    id: str  # unique within the run, e.g. "g3-c1" or "seed-dpo"
    run_id: str
    generation: int  # 0 for seeds
    name: str
    thought: str
    code: str
    code_hash: str
    is_seed: bool = False
    parents: list[str] = Field(default_factory=list)  # candidate ids
    status: CandidateStatus = CandidateStatus.PROPOSED
    stage: str | None = None  # sandbox stage that rejected it: static | runtime | functional
    reason: str | None = None  # rejection, duplicate or failure text, fed back to the proposer
    fingerprint: list[float] | None = None
    metrics: EvaluationResult | None = None
    reported: ReportedFigures | None = None
    exchange_id: int | None = None  # the LLM exchange that produced it
    seconds: float | None = None  # validation + training + scoring
    created: datetime = Field(default_factory=now)

    @property
    def fitness(self) -> float | None:
        return self.metrics.fitness if self.metrics else None


class ExchangeRecord(BaseModel):
    """One request to the proposer's LLM and its answer, with token use and a cost estimate."""

    id: int | None = None  # assigned by the archive
    run_id: str
    generation: int
    messages: list[dict[str, Any]]
    response: str | None = None  # raw text of the reply, None when the request failed
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    seconds: float = 0.0
    created: datetime = Field(default_factory=now)
