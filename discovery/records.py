"""The records that flow between proposer, loop, archive and browser (pydantic in, pydantic out)."""

from datetime import datetime, timezone
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from discovery.config import RunConfig
from discovery.objectives import Objective, shipped_catalog
from discovery.objectives.objective import reported_source


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
    SCORED = "scored"  # has figures


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

    @classmethod
    def of_shipped(cls, name: str) -> "ReportedFigures | None":
        """The paper's figures for the shipped objective `name`; None for one it did not report on."""
        figures = shipped_catalog()[name]["reported"]
        return cls(source=reported_source(), figures=figures) if figures else None


class SeedResult(BaseModel):
    """Figures of one training-and-scoring run of one objective with one seed at one beta."""

    seed: int
    beta: float | None = None  # None: the evaluator's only beta (archives written before beta grids)
    fitness: float
    reward: float | None = None
    kl: float | None = None
    accuracy: float | None = None
    collapsed: bool = False  # the evaluator judged the trained policy degenerate (see `figures()`)
    unchanged_fitness: float | None = None  # the untrained policy's fitness on the task; None: unknown
    seconds: float
    train_seconds: float | None = None
    extra: dict[str, float] = Field(default_factory=dict)


class BetaFigures(BaseModel):
    """One objective's figures at one beta of the grid: means over its seeds there."""

    beta: float | None
    n: int  # seeds trained at this beta
    fitness: float
    fitness_se: float | None  # None with a single seed and no noise estimate to lean on
    reward: float | None = None
    kl: float | None = None
    accuracy: float | None = None
    collapse_rate: float = 0.0


class PairedComparison(BaseModel):
    """The objective against the baseline (DPO) on the same seeds, the baseline taken at the beta of
    its grid whose KL is closest to the objective's: "does it beat DPO at comparable KL?"."""

    baseline: str  # the baseline objective's name
    beta: float | None  # the baseline's beta that matches the objective's KL
    kl_ratio: float | None  # objective's KL / baseline's KL at that beta (1: perfectly matched)
    n: int  # seeds both trained
    difference: float  # mean over those seeds of (objective - baseline) fitness
    difference_se: float | None
    p_value: float  # exact two-sided sign-flip test of "no difference"


class EvaluationResult(BaseModel):
    """An objective's figures: the headline at its best beta (mean, interval, seeds there), the
    figures at every beta of the grid, the collapse rate, the comparison with the baseline, and every
    (seed, beta) training underneath. Built by `discovery.fitness.summarise`."""

    objective: str
    fitness: float  # mean at the best beta
    fitness_se: float  # its standard error (0 for one seed without a noise estimate)
    fitness_low: float | None = None  # confidence interval of that mean; None when unknown (one seed)
    fitness_high: float | None = None
    confidence: float = 0.9  # the interval's coverage
    n: int = 1  # seeds at the best beta
    best_beta: float | None = None
    reward: float | None = None  # at the best beta, as are kl and accuracy
    kl: float | None = None
    accuracy: float | None = None
    collapse_rate: float = 0.0  # share of all trainings (every beta) that collapsed
    seconds: float
    betas: list[BetaFigures] = Field(default_factory=list)
    paired: PairedComparison | None = None
    seeds: list[SeedResult]  # every training, at every beta
    degenerate: str | None = None  # what went wrong beyond a low number (`fitness.degenerate_case`)

    @property
    def ranking(self) -> float:
        """What the leaderboard sorts by: the interval's lower end, so that one lucky seed does not
        outrank a candidate measured well (the mean when no interval is known)."""
        return self.fitness if self.fitness_low is None else self.fitness_low


class TrainingPoint(BaseModel):
    """One training of an objective: which seed, at which beta (None: the evaluator's only one)."""

    model_config = ConfigDict(frozen=True)

    seed: int
    beta: float | None = None

    def label(self) -> str:
        """`seed3` or `seed3-beta0.1`: a folder name, and how progress names the training."""
        return f"seed{self.seed}" if self.beta is None else f"seed{self.seed}-beta{self.beta:g}"


class JobRef(BaseModel):
    """The job that evaluates a candidate, as the executor that runs it knows it: one racing round
    (the first trains every beta, later ones add seeds at the best beta)."""

    executor: str  # "local" or "slurm"
    id: str
    submitted: datetime = Field(default_factory=now)
    round: int = 1
    points: list[TrainingPoint] = Field(default_factory=list)


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
    beta_profile: list[float] | None = None  # gradient directions across betas (`sandbox.profiles`)
    descriptors: list[float] | None = None  # where the sandbox placed it: ahead, behind, sides
    cell: str | None = None  # its behaviour map cell, e.g. falls·bounded·margin (`population.behaviour`)
    island: int | None = (
        None  # the island it was proposed on; null: a seed (on every island) or before islands
    )
    figures: EvaluationResult | None = None
    reported: ReportedFigures | None = None
    exchange_id: int | None = None  # the LLM exchange that produced it
    seconds: float | None = None  # validation + training + scoring
    attempts: int = 0  # evaluations started (a process killed mid-training leaves one behind)
    job: JobRef | None = None  # the job in flight, or the last one
    context: dict[str, Any] | None = None  # what its proposer was shown: best, recent, in flight
    isolation: dict[str, bool] = Field(default_factory=dict)  # confinement layers its training had
    created: datetime = Field(default_factory=now)

    @classmethod
    def of(
        cls, objective: Objective, *, id: str, run_id: str, generation: int, **fields: Any
    ) -> "CandidateRecord":
        """The record of `objective` in a run: its name, its code and the code's hash (so duplicates
        are found by the same normal form everywhere), and the idea in its docstring as its thought
        unless `fields` give one (a proposal's is what its proposer said)."""
        return cls(
            id=id,
            run_id=run_id,
            generation=generation,
            name=objective.name,
            code=objective.source,
            code_hash=objective.code_hash,
            **{"thought": objective.thought, **fields},
        )

    @property
    def fitness(self) -> float | None:
        return self.figures.fitness if self.figures else None


class TransferRecord(BaseModel):
    """One candidate re-evaluated on a held-out variant of the task the search never saw."""

    run_id: str
    variant: str  # the evaluator's name for it, e.g. "data" (another data seed)
    candidate_id: str
    name: str
    result: EvaluationResult | None = None  # paired with the baseline on the same variant
    failure: str | None = None
    created: datetime = Field(default_factory=now)


class IslandEventKind(str, Enum):
    MIGRATION = "migration"  # the best of the previous island in the ring arrive
    RESEED = "reseed"  # a stalled island restarts from the seeds and the map's best elite


class IslandEvent(BaseModel):
    """A change of an island's population at the start of a generation (`discovery.population.islands`):
    a migration brings the best of the previous island in the ring, a reseed restarts a stalled
    island from the run's seeds and the best elite of the behaviour map."""

    run_id: str  # the run it belongs to
    generation: int  # the generation it took effect before
    island: int  # the island that received the candidates
    kind: IslandEventKind  # migration or reseed
    candidates: list[str]  # ids of the candidates it received (a reseed: its whole new population)
    source: int | None = None  # a migration's sending island
    created: datetime = Field(default_factory=now)  # when it was recorded


class ExchangeRecord(BaseModel):
    """One request to the proposer's LLM and its answer, with token use and a cost estimate."""

    id: int | None = None  # assigned by the archive
    run_id: str
    generation: int
    model: str | None = None  # the ensemble's model that was asked; NULL in archives from before ensembles
    messages: list[dict[str, Any]]
    response: str | None = None  # raw text of the reply, None when the request failed
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    seconds: float = 0.0
    created: datetime = Field(default_factory=now)


class SummaryRecord(BaseModel):
    """A meta-summary of the run so far, written by the proposer's LLM before a generation and shown
    (as data) to the requests that follow: untrusted text, like every reply."""

    run_id: str
    generation: int  # the generation whose requests it was written for
    text: str
    exchange_id: int | None = None  # the request that wrote it
    created: datetime = Field(default_factory=now)
