"""The evaluator interface shared by `discover evaluate`, `discover run` and the judged evaluators.

An evaluator is split along the trust boundary. `train` runs inside a confined process
(`discovery.execution`), because it calls the candidate's loss; its only output is files in its
output folder: the trained weights (safetensors) and small logs. `score` runs in a process that
never executed candidate code: it loads those weights as untrusted data and computes every figure,
so a candidate can never write its own fitness.
"""

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from discovery.objectives import Objective
from discovery.progress import Progress, no_progress
from discovery.records import SeedResult
from discovery.suite import Suite


class TrainingLimits(BaseModel):
    """What one seed's confined training may use; the evaluator proposes, the run config may change.

    The deadline follows the task. An evaluator that can time its baseline (DPO) on the task and
    training settings it trains candidates on derives the deadline from that measurement
    (`from_baseline`): `max(BASELINE_FLOOR_S, BASELINE_FACTOR x the baseline's seconds)`. A fixed
    deadline would have to fit the largest task, so on a small one a candidate that hangs or crawls
    only at the training batch size (fine at the sandbox's probe sizes) would hold its slot many
    times longer than an honest training takes. The factor leaves room for a machine loaded by other
    workers and for objectives that cost a few times DPO; the floor for start-up costs the
    measurement hardly sees on a tiny task. The CPU-time limit follows the wall-clock one
    (`cpu_seconds`). A user raises either by the run's `training_timeout`.
    """

    timeout_s: float = Field(gt=0, description="wall-clock seconds before all its processes are killed")
    memory_mb: int | None = Field(
        gt=0,
        description="address space on top of what the trainer maps at its start; None: no limit "
        "(GPU drivers map far more address space than memory exists, so a GPU trainer gets none)",
    )
    baseline_s: float | None = Field(
        None, gt=0, description="the measured seconds of the baseline's training the deadline derives from"
    )
    note: str = Field("", description="where a deadline not derived from a baseline comes from")

    @classmethod
    def from_baseline(cls, seconds: float, memory_mb: int | None) -> "TrainingLimits":
        """The deadline of a task whose baseline training took `seconds` (see the class's docstring)."""
        timeout = max(BASELINE_FLOOR_S, BASELINE_FACTOR * seconds)
        return cls(timeout_s=round(timeout), memory_mb=memory_mb, baseline_s=seconds)

    def cpu_seconds(self, threads: int) -> int:
        """CPU time a trainer on `threads` torch threads may use: no process uses more than its
        threads times the wall-clock time, and one spare thread covers the libraries' helper threads.
        A candidate that starts threads of its own to crawl in parallel meets it before the deadline."""
        return round(self.timeout_s * (threads + 1))

    def describe(self) -> str:
        """The deadline as a person reads it, with where it comes from."""
        if self.baseline_s is None:
            return f"{self.timeout_s:g} s ({self.note})" if self.note else f"{self.timeout_s:g} s"
        factor = self.timeout_s / self.baseline_s
        return (
            f"{self.timeout_s:g} s ({factor:.3g} x the baseline's measured {self.baseline_s:.3g} s, "
            f"at least {BASELINE_FLOOR_S:g} s)"
        )

    def timed_out(self, seconds: float) -> str:
        """The failure of a training killed at this deadline, in one line."""
        if self.baseline_s is None:
            limit = f"{self.timeout_s:g} s"
        else:
            limit = f"{self.timeout_s / self.baseline_s:.3g} x the baseline's {self.baseline_s:.3g} s"
        return f"timed out after {seconds:.0f} s (limit {limit}), so all its processes were killed"


# The deadline rule of `TrainingLimits.from_baseline`.
BASELINE_FACTOR = 10.0
BASELINE_FLOOR_S = 30.0


class TransferVariant(BaseModel):
    """A held-out variant of an evaluator's task: the options that change it, and the beta each
    objective trains at there, as a multiple of the best beta its search found."""

    name: str
    description: str
    options: dict[str, Any] = Field(default_factory=dict)
    beta_factor: float = Field(1.0, gt=0)


class Evaluator(ABC):
    """Build (or load) a task once, then train and score any number of objectives on it.

    Subclasses set `name`, `description` and `Options`, and implement `config`, `figures`,
    `prepare`, `limits`, `betas`, `train` and `score`. `evaluators.registry.get_evaluator` validates the
    user's options with `Options` (a pydantic model with `extra="forbid"`, every field with a default
    and a description, which `discover evaluators` lists) before anything heavy is built, then
    constructs the evaluator with the validated options and the cache folder the caller chose
    (evaluators never pick one).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    Options: ClassVar[type[BaseModel]]
    # Bump when the figures change for the same options (e.g. the task is built differently), so that
    # seed scores stored under the old version are not reused.
    version: ClassVar[int] = 0
    # Whether `score` calls an LLM endpoint (a judge). Only then does the worker that runs the
    # evaluator's jobs receive the endpoint's key: a worker forks the confined trainers, whose memory
    # is a copy of its own, so a key the worker never held is one no candidate can find.
    calls_endpoint: ClassVar[bool] = False
    # An evaluator built by the tool itself (a suite of another's variants), not named by users.
    hidden: ClassVar[bool] = False

    def __init__(self, options: BaseModel, cache_dir: Path) -> None:
        self.options = options
        self.cache_dir = Path(cache_dir).resolve()  # absolute: confined trainers work in another folder

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Every setting that changes the figures; equal configs (and versions) give comparable, and
        reusable, scores."""

    @abstractmethod
    def figures(self) -> dict[str, str]:
        """What each reported figure means, e.g. {"fitness": "win rate of the policy vs the reference"}."""

    @abstractmethod
    def prepare(self, progress: Progress = no_progress) -> None:
        """Build or load everything the task needs (data, reference model, caches). Idempotent.

        Runs in trusted processes only, before any candidate trains."""

    @abstractmethod
    def limits(self) -> TrainingLimits:
        """Deadline and memory of one seed's training at this task's size; cheap (no task is built
        for it), so that a dry run can show it."""

    def readable_paths(self) -> list[Path]:
        """Files and folders the confined trainer must read (the built task), mounted read-only."""
        return []

    def transfer_variants(self) -> list[TransferVariant]:
        """Held-out variants of the task that a run's winners are re-evaluated on (none: the
        evaluator offers no transfer check)."""
        return []

    def suites(self) -> dict[str, Suite]:
        """The task suites this evaluator ships, by name (`discovery.suite`); none by default."""
        return {}

    def default_suite(self) -> str | None:
        """The shipped suite a run uses unless it names another; None: the task alone."""
        return None

    def trainer_environment(self) -> dict[str, str]:
        """Variables the confined trainer needs (where a model cache is); it gets no others."""
        return {}

    def batch_pairs(self) -> int | None:
        """Preference pairs per optimizer step a candidate trains with (None: not fixed), so that the
        sandbox decides duplicates on batches of that size: a candidate can tell a batch's size."""
        return None

    @abstractmethod
    def betas(self) -> list[float]:
        """The grid of beta every objective trains at; its figure is taken at its best one (one
        value: the evaluator has a single beta)."""

    @abstractmethod
    def train(
        self, objective: Objective, seed: int, beta: float, output_dir: Path, progress: Progress
    ) -> None:
        """Train a policy with the objective from the reference at `beta` and write it into `output_dir`.

        Runs confined, with `output_dir` as the only writable folder and no network: only here is
        the objective compiled (`objective.compile()`, which runs the static gate) and called.
        Everything written there is read back by `score` as untrusted data."""

    @abstractmethod
    def score(self, output_dir: Path, seed: int, progress: Progress) -> SeedResult:
        """The figures of the policy `train` wrote into `output_dir`; runs in a trusted process.

        Raises `UntrustedOutput` when the folder does not hold a usable policy."""
