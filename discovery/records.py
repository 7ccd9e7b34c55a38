"""The records that flow between proposer, loop, archive and browser (pydantic in, pydantic out)."""

import math
import statistics
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field

from discovery.config import RunConfig


def now() -> datetime:
    """Timestamps are timezone-aware UTC everywhere."""
    return datetime.now(timezone.utc)


class CandidateStatus(str, Enum):
    """Where a candidate stands. Only `proposed`, `validated` and `running` are transient."""

    PROPOSED = "proposed"  # written by the proposer, not yet checked
    VALIDATED = "validated"  # passed the sandbox and is not a duplicate; training pending
    RUNNING = "running"  # its job was submitted (`job` says which); the outcome is awaited
    INVALID = "invalid"  # rejected by the sandbox (stage + reason)
    DUPLICATE = "duplicate"  # fingerprint matches an archived objective (reason names it)
    FAILED = "failed"  # training or scoring raised (reason holds the error)
    SCORED = "scored"  # has metrics


class RunStatus(str, Enum):
    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"


class RunRecord(BaseModel):
    """One `discover run` (or retrain): its typed configuration, the evaluator's resolved settings
    and the library versions, so that `--resume` and a reader need nothing else."""

    id: str
    config: RunConfig
    evaluator_config: dict[str, Any] = Field(default_factory=dict)  # what `Evaluator.config()` said
    versions: dict[str, str]
    proposer: str
    generations_done: int = 0
    status: RunStatus = RunStatus.RUNNING
    started: datetime = Field(default_factory=now)
    ended: datetime | None = None

    @property
    def evaluator(self) -> str:
        return self.config.evaluator


class ReportedFigures(BaseModel):
    """Figures published for a shipped objective, kept apart from anything this project measured."""

    source: str
    figures: dict[str, float]


class SeedResult(BaseModel):
    """Figures of one training-and-scoring run of one objective with one seed."""

    seed: int
    fitness: float
    reward: float | None = None
    kl: float | None = None
    accuracy: float | None = None
    seconds: float
    train_seconds: float | None = None
    extra: dict[str, float] = Field(default_factory=dict)


class EvaluationResult(BaseModel):
    """Mean and standard error over seeds, plus the per-seed figures."""

    objective: str
    fitness: float
    fitness_se: float
    reward: float | None = None
    kl: float | None = None
    accuracy: float | None = None
    seconds: float
    seeds: list[SeedResult]

    @classmethod
    def from_seeds(cls, objective: str, seeds: list[SeedResult]) -> "EvaluationResult":
        """Aggregate per-seed figures; the standard error is 0 for a single seed."""
        if not seeds:
            raise ValueError("at least one seed result is needed")

        def mean(name: str) -> float | None:
            values = [getattr(s, name) for s in seeds if getattr(s, name) is not None]
            return statistics.fmean(values) if values else None

        fitnesses = [s.fitness for s in seeds]
        se = statistics.stdev(fitnesses) / math.sqrt(len(fitnesses)) if len(fitnesses) > 1 else 0.0
        return cls(
            objective=objective,
            fitness=statistics.fmean(fitnesses),
            fitness_se=se,
            reward=mean("reward"),
            kl=mean("kl"),
            accuracy=mean("accuracy"),
            seconds=sum(s.seconds for s in seeds),
            seeds=seeds,
        )


class JobRef(BaseModel):
    """The job that evaluates a candidate, as the executor that runs it knows it."""

    executor: str  # "local" or "slurm"
    id: str
    submitted: datetime = Field(default_factory=now)


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
    attempts: int = 0  # evaluations started (a process killed mid-training leaves one behind)
    job: JobRef | None = None  # the job in flight, or the last one
    context: dict[str, Any] | None = None  # what its proposer was shown: best, recent, in flight
    isolation: dict[str, bool] = Field(default_factory=dict)  # confinement layers its training had
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
