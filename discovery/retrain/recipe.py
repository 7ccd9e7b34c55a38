"""Recipes: one flat YAML document in TRL's own field names, plus `--set key=value` overrides.

A recipe holds the model and data arguments (named as TRL's `ModelConfig` and `ScriptArguments`),
any `DPOConfig` field, and three fields of ours: `max_prompt_length` (gone from TRL 1.16's
`DPOConfig`; applied in `discovery.retrain.data`), `num_gpus` (the GPU count the batch figures are
meant for) and `accelerate_config` (a shipped accelerate / DeepSpeed configuration).
"""

import dataclasses
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, PositiveInt, ValidationError, model_validator

from discovery.errors import UserError, validation_message
from discovery.options import load_yaml, reject_non_finite
from discovery.user_files import read_text_file

RECIPES_PACKAGE = "discovery.recipes"
DEFAULT_RECIPE = "zephyr-7b-gemma"
ACCELERATE_SUFFIX = ".accelerate.yaml"  # launch configurations live beside the recipes

# Fields a recipe may carry that are not `DPOConfig` fields, by the TRL class that defines them.
MODEL_FIELDS = ("model_name_or_path", "model_revision", "dtype", "attn_implementation")
DATA_FIELDS = (
    "dataset_name",
    "dataset_config",
    "dataset_train_split",
    "dataset_test_split",
    "max_prompt_length",
)
LAUNCH_FIELDS = ("num_gpus", "accelerate_config")


@cache
def dpo_config_fields() -> frozenset[str]:
    """Names of every `DPOConfig` field (TRL's and transformers' `TrainingArguments`)."""
    from trl import DPOConfig

    return frozenset(field.name for field in dataclasses.fields(DPOConfig))


class Recipe(BaseModel):
    """A full training recipe. Typed fields are the ones the planner reads; every other `DPOConfig`
    field may be given too and passes through to TRL unchanged."""

    model_config = ConfigDict(extra="allow", frozen=True)

    model_name_or_path: str
    model_revision: str = "main"
    dtype: str = "bfloat16"
    attn_implementation: str | None = None

    dataset_name: str
    dataset_config: str | None = None
    dataset_train_split: str = "train"
    dataset_test_split: str | None = "test"
    max_prompt_length: PositiveInt | None = None

    beta: float
    learning_rate: float
    num_train_epochs: float
    max_length: PositiveInt | None = 1024
    per_device_train_batch_size: PositiveInt
    per_device_eval_batch_size: PositiveInt = 8
    gradient_accumulation_steps: PositiveInt = 1
    warmup_steps: float = 0
    seed: int = 42

    num_gpus: PositiveInt = 1
    accelerate_config: str = "deepspeed_zero3"

    @model_validator(mode="after")
    def _known_fields_only(self) -> "Recipe":
        unknown = sorted(set(self.model_extra or {}) - dpo_config_fields())
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}: a recipe holds TRL DPOConfig fields, "
                f"{', '.join(MODEL_FIELDS + DATA_FIELDS + LAUNCH_FIELDS)}"
            )
        if self.max_prompt_length and self.max_length and self.max_prompt_length >= self.max_length:
            raise ValueError(
                f"max_prompt_length ({self.max_prompt_length}) must be below max_length ({self.max_length})"
            )
        return self

    @property
    def total_train_batch(self) -> int:
        """The batch one optimizer step sees, on the GPU count the recipe was written for."""
        return self.per_device_train_batch_size * self.gradient_accumulation_steps * self.num_gpus

    def training_arguments(self) -> dict[str, Any]:
        """The `DPOConfig` fields of the recipe, as TRL takes them."""
        fields = self.model_dump(exclude=set(MODEL_FIELDS + DATA_FIELDS + LAUNCH_FIELDS))
        return {name: value for name, value in fields.items() if name in dpo_config_fields()}


def shipped_recipes() -> list[str]:
    """Names of the recipes shipped as package data."""
    names = (entry.name for entry in resources.files(RECIPES_PACKAGE).iterdir())
    return sorted(
        n.removesuffix(".yaml") for n in names if n.endswith(".yaml") and not n.endswith(ACCELERATE_SUFFIX)
    )


def read_recipe_text(spec: str) -> tuple[str, str]:
    """(text, origin) of a shipped recipe name or a YAML file path."""
    if spec in shipped_recipes():
        return resources.files(RECIPES_PACKAGE).joinpath(f"{spec}.yaml").read_text(), f"shipped:{spec}"
    path = Path(spec)
    if path.suffix in {".yaml", ".yml"}:
        return read_text_file(path, "recipe"), str(path)
    raise UserError(
        f"unknown recipe '{spec}': give a shipped name ({', '.join(shipped_recipes())}) or a .yaml file"
    )


def load_recipe(spec: str = DEFAULT_RECIPE, overrides: dict[str, Any] | None = None) -> tuple[Recipe, str]:
    """(recipe, origin): read a recipe, apply overrides, validate; any problem is a one-line `UserError`."""
    text, origin = read_recipe_text(spec)
    try:
        fields = load_yaml(text)
    except yaml.YAMLError as error:
        raise UserError(f"recipe {origin} is not valid YAML: {' '.join(str(error).split())}") from error
    if not isinstance(fields, dict):
        raise UserError(f"recipe {origin} must be a mapping of field: value")
    merged = {**fields, **(overrides or {})}
    reject_non_finite(merged, f"recipe {origin}: ")
    try:
        return Recipe.model_validate(merged), origin
    except ValidationError as error:
        raise UserError(f"recipe {origin}: {validation_message(error)}") from error
