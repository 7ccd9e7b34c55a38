"""The `sentiment` evaluator: the embedded, offline analogue of the paper's IMDb experiment."""

import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from discovery.objectives import Objective
from discovery.progress import Progress, no_progress
from discovery.records import SeedResult
from discovery.sandbox.outputs import UntrustedOutput, checked_file, read_json
from discovery.suite import Suite
from evaluators.base import Evaluator, TrainingLimits, TransferVariant
from evaluators.registry import register
from evaluators.sentiment.cache import Artefacts, folder_for, load_or_build, recorded_baseline, time_baseline
from evaluators.sentiment.scoring import score
from evaluators.sentiment.settings import BUILD_VERSION, SentimentOptions
from evaluators.sentiment.suites import DEFAULT_SUITE, SUITES
from evaluators.sentiment.train import make_trainer

POLICY_FILE = "policy.safetensors"
# A seed collapsed when its policy wins this much less often than an untrained one (~0.5) does.
COLLAPSE_MARGIN = 0.1
LOG_FILE = "training.json"
MEMORY_MB = 4096  # a trainer's address space on top of what it maps at its start
# The deadline before the baseline is measured: a default-size seed trains in seconds to a minute.
UNMEASURED_TIMEOUT_S = 900


@register
class SentimentEvaluator(Evaluator):
    """Train a tiny Llama with the objective on synthetic review preferences; score its sentiment."""

    name = "sentiment"
    description = (
        "Synthetic film reviews: a tiny Llama SFT reference, preference pairs labelled by a sentiment "
        "oracle, DPO-style training with the objective, win rate against the reference."
    )
    Options = SentimentOptions
    version = BUILD_VERSION

    def __init__(self, options: SentimentOptions, cache_dir: Path) -> None:
        super().__init__(options, cache_dir)
        self.preset = options.preset
        self.task, self.train_settings = options.settings()
        self._artefacts: Artefacts | None = None
        self._baseline_s: float | None = None  # measured here, when the folder could not record it

    def config(self) -> dict[str, Any]:
        """The preset and every resolved setting: exactly the option names, so any shown value can be set."""
        return {"preset": self.preset, **self.task.model_dump(), **self.train_settings.model_dump()}

    def figures(self) -> dict[str, str]:
        return {
            "fitness": "win rate of policy samples against reference samples under the oracle (ties half)",
            "reward": "mean oracle reward of the policy's samples, in [0, 1]",
            "kl": "KL(policy || reference) per completion, estimated from the policy's samples (nats)",
            "accuracy": "share of held-out oracle-ranked pairs the implicit reward orders correctly",
            "collapsed": f"fitness more than {COLLAPSE_MARGIN:g} below an untrained policy's: training "
            "made the policy worse than not training at all",
        }

    def prepare(self, progress: Progress = no_progress) -> None:
        """Load or build the task, and time DPO's training on it once (the training deadline)."""
        if self._artefacts is None:
            self._artefacts = load_or_build(self.cache_dir, self.task, progress)
            if recorded_baseline(self._artefacts.folder, self.train_settings) is None:
                progress("timing the baseline", None)
                self._baseline_s = time_baseline(self._artefacts, self.train_settings)

    @property
    def artefacts(self) -> Artefacts:
        """The loaded cache (built on first use)."""
        self.prepare()
        assert self._artefacts is not None
        return self._artefacts

    def limits(self) -> TrainingLimits:
        """Derived from DPO's measured training on this task and these training settings; before the
        task is prepared (nothing measured yet) the fixed deadline that fits the default preset."""
        folder = folder_for(self.cache_dir, self.task)
        baseline = self._baseline_s or recorded_baseline(folder, self.train_settings)
        if baseline is None:
            note = "until the task is prepared and DPO's training on it is timed"
            return TrainingLimits(timeout_s=UNMEASURED_TIMEOUT_S, memory_mb=MEMORY_MB, note=note)
        return TrainingLimits.from_baseline(baseline, memory_mb=MEMORY_MB)

    def readable_paths(self) -> list[Path]:
        return [self.artefacts.folder]

    def betas(self) -> list[float]:
        return list(self.train_settings.betas)

    def batch_pairs(self) -> int | None:
        return self.train_settings.batch_pairs

    def suites(self) -> dict[str, Suite]:
        return dict(SUITES)

    def default_suite(self) -> str | None:
        """The headroom suite for figures; the tiny preset, made for smoke tests, trains its task alone."""
        return DEFAULT_SUITE if self.preset == "default" else None

    def transfer_variants(self) -> list[TransferVariant]:
        """Another synthetic corpus (hence another reference model and preference data), a larger
        model, and a beta between the grid's points; each one the search never saw."""
        task, grid = self.task, sorted(self.train_settings.betas)
        step = (grid[-1] / grid[0]) ** (1 / (len(grid) - 1)) if len(grid) > 1 else 3.0
        return [
            TransferVariant(
                name="data",
                description=f"another data seed ({task.data_seed + 1}): new corpus, reference and pairs",
                options={"data_seed": task.data_seed + 1},
            ),
            TransferVariant(
                name="model",
                description="a larger reference model (twice the width)",
                options={"hidden_size": task.hidden_size * 2, "ffn_size": task.ffn_size * 2},
            ),
            TransferVariant(
                name="beta",
                description=f"{step**0.5:.2g} times the best beta of the search: between the grid's points",
                beta_factor=step**0.5,
            ),
        ]

    def train(
        self, objective: Objective, seed: int, beta: float, output_dir: Path, progress: Progress
    ) -> None:
        """TRL training from the reference; the policy's weights go to `output_dir` as safetensors."""
        from safetensors.torch import save_model

        loss = objective.compile()
        artefacts = self.artefacts
        policy = artefacts.policy()
        trainer = make_trainer(
            policy,
            artefacts.tokenizer,
            artefacts.train_dataset(),
            loss,
            self.train_settings,
            seed,
            beta,
            output_dir / "trainer",
            progress,
        )
        started = time.perf_counter()
        trainer.train()
        save_model(policy, str(output_dir / POLICY_FILE))
        log = TrainingLog(steps=trainer.state.global_step, seconds=time.perf_counter() - started)
        (output_dir / LOG_FILE).write_text(log.model_dump_json())

    def score(self, output_dir: Path, seed: int, progress: Progress) -> SeedResult:
        """Load the trained weights into the reference's architecture and score them."""
        from safetensors.torch import load_model

        artefacts = self.artefacts
        weights = checked_file(output_dir, POLICY_FILE, max_bytes=artefacts.policy_bytes() * 2)
        log = read_json(output_dir, LOG_FILE, TrainingLog)
        policy = artefacts.policy()
        try:
            load_model(policy, str(weights), strict=True)
        except Exception as error:  # wrong names, shapes or dtypes: whatever safetensors says
            raise UntrustedOutput(f"{POLICY_FILE} does not fit the reference model: {error}") from error
        started = time.perf_counter()
        scores = score(
            policy,
            artefacts.reference,
            artefacts.tokenizer,
            artefacts.heldout,
            self.task.max_new_tokens,
            seed,
            progress,
        )
        unchanged = artefacts.manifest["unchanged_policy_fitness"]
        return SeedResult(
            seed=seed,
            fitness=scores.fitness,
            collapsed=scores.fitness < unchanged - COLLAPSE_MARGIN,
            unchanged_fitness=unchanged,
            reward=scores.reward,
            kl=scores.kl,
            accuracy=scores.accuracy,
            seconds=log.seconds + time.perf_counter() - started,
            train_seconds=log.seconds,
        )


class TrainingLog(BaseModel):
    """What the confined trainer reports besides the weights (untrusted: only used for timings)."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(ge=0)
    seconds: float = Field(ge=0, le=7 * 24 * 3600)
