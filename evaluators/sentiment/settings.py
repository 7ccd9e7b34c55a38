"""Size presets of the sentiment task: what is built once (cached) and how each candidate trains.

`TaskSettings` decides the cached artefacts (corpus, reference model, preference data, held-out
set), so its hash names the cache folder. `TrainSettings` only changes how a candidate trains and
is scored, so changing it reuses the cache.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

# Bump when the way artefacts are built changes, so old caches are not reused by mistake.
BUILD_VERSION = 1


@dataclass(frozen=True)
class TaskSettings:
    """Everything the cached artefacts depend on."""

    data_seed: int = 1234
    corpus_reviews: int = 20_000
    hidden_size: int = 64
    layers: int = 2
    heads: int = 4
    ffn_size: int = 256
    sft_steps: int = 400
    sft_batch: int = 64
    sft_lr: float = 5e-3
    train_pairs: int = 2000
    heldout_prompts: int = 2000
    heldout_pairs: int = 500
    bradley_terry_temperature: float = 0.05
    max_new_tokens: int = 32

    def digest(self) -> str:
        """Short hash of the settings and build version: the cache folder's name."""
        text = json.dumps({"version": BUILD_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class TrainSettings:
    """How one candidate trains from the reference."""

    beta: float = 0.1
    learning_rate: float = 1e-3
    epochs: int = 3
    batch_pairs: int = 32


PRESETS: dict[str, tuple[TaskSettings, TrainSettings]] = {
    "default": (TaskSettings(), TrainSettings()),
    # Seconds to build and to evaluate: for tests, not for figures.
    "tiny": (
        TaskSettings(
            corpus_reviews=1000,
            hidden_size=32,
            layers=1,
            heads=2,
            ffn_size=64,
            sft_steps=150,
            sft_batch=32,
            sft_lr=1e-2,
            train_pairs=64,
            heldout_prompts=32,
            heldout_pairs=16,
            max_new_tokens=24,
        ),
        TrainSettings(epochs=1, batch_pairs=16),
    ),
}


def preset(name: str) -> tuple[TaskSettings, TrainSettings]:
    """The settings of a named preset; the caller turns a KeyError into a user error."""
    return PRESETS[name]


def describe(task: TaskSettings, train: TrainSettings) -> dict[str, Any]:
    """Flat dictionary of both settings, for `Evaluator.config()`."""
    return {**asdict(task), **asdict(train), "build_version": BUILD_VERSION}
