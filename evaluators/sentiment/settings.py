"""Size presets of the sentiment task, and the evaluator's options: a preset plus any field of it.

`TaskSettings` decides the cached artefacts (corpus, reference model, preference data, held-out
set), so its hash names the cache folder. `TrainSettings` only changes how a candidate trains and
is scored, so changing it reuses the cache.

`SentimentOptions` (what `--set` and `evaluator_options:` accept) is built from these two settings
groups (`evaluators.option_groups`), so a field added here is settable, listed by `discover
evaluators` and shown by the dry run without being written a second time.
"""

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evaluators.option_groups import FlatOptions, Groups, flat_model, split

# Bump when the way artefacts are built changes, so old caches are not reused by mistake.
BUILD_VERSION = 2  # 2: several reference samples per held-out prompt, a single-threaded build


class TaskSettings(BaseModel):
    """Everything the cached artefacts depend on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_seed: int = Field(1234, description="seed of the synthetic corpus, prompts and preference labels")
    corpus_reviews: int = Field(20_000, description="generated reviews the SFT reference is trained on", gt=0)
    hidden_size: int = Field(64, description="hidden size of the tiny Llama reference", gt=0)
    layers: int = Field(2, description="transformer layers of the reference", gt=0)
    heads: int = Field(4, description="attention heads of the reference (must divide hidden_size)", gt=0)
    ffn_size: int = Field(256, description="feed-forward size of the reference", gt=0)
    sft_steps: int = Field(400, description="optimizer steps of the reference's supervised training", gt=0)
    sft_batch: int = Field(64, description="reviews per step of the reference's supervised training", gt=0)
    sft_lr: float = Field(5e-3, description="learning rate of the reference's supervised training", gt=0)
    train_pairs: int = Field(2000, description="preference pairs each candidate trains on", gt=0)
    heldout_prompts: int = Field(2000, description="held-out prompts the win rate is measured on", gt=0)
    reference_samples: int = Field(
        4,
        description="reference completions per held-out prompt that the policy's completion is compared with",
        gt=0,
    )
    heldout_pairs: int = Field(
        500, description="held-out oracle-ranked pairs the accuracy is measured on", gt=0
    )
    bradley_terry_temperature: float = Field(
        0.05,
        description="temperature of the Bradley-Terry draw that labels the pairs (lower: the oracle's order)",
        gt=0,
    )
    max_new_tokens: int = Field(32, description="tokens sampled per completion", gt=0)
    label_noise: float = Field(
        0.0,
        ge=0,
        lt=0.5,
        description="share of training pairs whose labels are swapped after the Bradley-Terry draw "
        "(a rater who clicks the wrong answer)",
    )

    def digest(self) -> str:
        """Short hash of the settings and build version: the cache folder's name. A setting added
        after the first release is left out while it holds its default, so that the folders built
        before it existed are found again."""
        settings = {
            name: value
            for name, value in self.model_dump().items()
            if not (name in _ADDED_LATER and value == _ADDED_LATER[name])
        }
        text = json.dumps({"version": BUILD_VERSION, **settings}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# Settings added after caches existed, with the default under which a folder's digest leaves them out.
_ADDED_LATER: dict[str, Any] = {"label_noise": 0.0}


class TrainSettings(BaseModel):
    """How one candidate trains from the reference."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    betas: tuple[float, ...] = Field(
        (0.1, 0.3, 1.0),
        description="the beta grid: every objective trains at each, and is judged at its best",
        min_length=1,
        max_length=16,
    )
    learning_rate: float = Field(1e-3, description="learning rate of each candidate's training", gt=0)
    epochs: int = Field(3, description="passes over the preference pairs per candidate", gt=0)
    batch_pairs: int = Field(32, description="preference pairs per optimizer step", gt=0)


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


# The groups behind the flat options; their keys carry no prefix.
_GROUPS: Groups = {"task": (TaskSettings, ""), "train": (TrainSettings, "")}


class _PresetOptions(FlatOptions):
    """A preset gives every value; the options set explicitly replace the preset's (the defaults
    shown are the `default` preset's)."""

    preset: Literal[tuple(PRESETS)] = Field(  # type: ignore[valid-type]
        "default", description="task size: 'default' for figures, 'tiny' (seconds) for smoke tests"
    )

    def settings(self) -> tuple[TaskSettings, TrainSettings]:
        """The preset's settings with the explicitly set options in their place."""
        task, train = PRESETS[self.preset]
        chosen = split(self, _GROUPS, defaults={"task": task, "train": train})
        return chosen["task"], chosen["train"]

    @field_validator("betas", mode="before", check_fields=False)
    @classmethod
    def _one_or_comma_separated(cls, value: Any) -> Any:
        """`--set betas=0.3` is the grid [0.3] and `--set betas=0.1,0.3` the grid [0.1, 0.3], as a
        user would write them; a list is taken as it is."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (value,)
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _shape_is_buildable(self) -> "_PresetOptions":
        task, train = self.settings()
        if task.hidden_size % task.heads:
            raise ValueError(f"heads ({task.heads}) must divide hidden_size ({task.hidden_size})")
        if not all(0 < beta < 1e6 for beta in train.betas) or len(set(train.betas)) != len(train.betas):
            raise ValueError(f"betas must be distinct positive numbers, not {list(train.betas)}")
        return self


SentimentOptions: type[_PresetOptions] = flat_model("SentimentOptions", _GROUPS, base=_PresetOptions)  # type: ignore[assignment]
