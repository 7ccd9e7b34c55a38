"""The `sentiment` evaluator: the embedded, offline analogue of the paper's IMDb experiment."""

import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from discovery.objectives import Objective
from discovery.progress import Progress, no_progress
from discovery.records import SeedResult
from evaluators.base import Evaluator
from evaluators.registry import register
from evaluators.sentiment.cache import Artefacts, ensure
from evaluators.sentiment.scoring import score
from evaluators.sentiment.settings import BUILD_VERSION, SentimentOptions
from evaluators.sentiment.train import make_trainer


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
        self.task, self.train = options.settings()
        self._artefacts: Artefacts | None = None

    def config(self) -> dict[str, Any]:
        """The preset and every resolved setting: exactly the option names, so any shown value can be set."""
        return {"preset": self.preset, **asdict(self.task), **asdict(self.train)}

    def figures(self) -> dict[str, str]:
        return {
            "fitness": "win rate of policy samples against reference samples under the oracle (ties half)",
            "reward": "mean oracle reward of the policy's samples, in [0, 1]",
            "kl": "KL(policy || reference) per completion, estimated from the policy's samples (nats)",
            "accuracy": "share of held-out oracle-ranked pairs the implicit reward orders correctly",
        }

    def prepare(self, progress: Progress = no_progress) -> None:
        if self._artefacts is None:
            self._artefacts = ensure(self.cache_dir, self.task, progress)

    @property
    def artefacts(self) -> Artefacts:
        """The loaded cache (built on first use)."""
        self.prepare()
        assert self._artefacts is not None
        return self._artefacts

    def evaluate_seed(self, objective: Objective, seed: int, progress: Progress = no_progress) -> SeedResult:
        loss = objective.compile()
        artefacts = self.artefacts
        started = time.perf_counter()
        policy = artefacts.policy()
        with tempfile.TemporaryDirectory() as output:
            trainer = make_trainer(
                policy,
                artefacts.tokenizer,
                artefacts.train_dataset(),
                loss,
                self.train,
                seed,
                Path(output),
                progress,
            )
            trainer.train()
        train_seconds = time.perf_counter() - started
        scores = score(
            policy,
            artefacts.reference,
            artefacts.tokenizer,
            artefacts.heldout,
            self.task.max_new_tokens,
            seed,
            progress,
        )
        return SeedResult(
            seed=seed,
            fitness=scores.fitness,
            reward=scores.reward,
            kl=scores.kl,
            accuracy=scores.accuracy,
            seconds=time.perf_counter() - started,
            train_seconds=train_seconds,
        )
