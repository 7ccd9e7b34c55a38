"""Train one candidate objective on the retrain recipe: the inner training of `mtbench` and `alpaca`.

Everything is `discovery.retrain`'s: the recipe, the plan (batch arithmetic, launch files), the job
(TRL with the objective) and its launch (accelerate + DeepSpeed on GPUs, one process on CPU). This
module only adds what discovery needs on top: the candidate's seed, an optional `max_steps`, and an
optional `data_fraction` of the training split (a fixed subset, the same for every candidate).
Candidates are trained with `discovery.retrain.launch.train`, inside the confined trainer of their
job, without an archive record of their own (the discovery run records them).
"""

import hashlib
import math
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from discovery.objectives import Objective
from discovery.retrain.data import load_split
from discovery.retrain.plan import Plan, Validation, make_plan
from discovery.retrain.recipe import DEFAULT_RECIPE, Recipe, load_recipe
from discovery.sandbox.confine import open_for_reading

SUBSET_SEED = 0  # the subset of a `data_fraction` is the same for every candidate and every seed


class TrainingSettings(BaseModel):
    """The inner training: a recipe (shipped name or YAML file) and the ways discovery shortens it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipe: str = Field(DEFAULT_RECIPE, description="shipped recipe name or a YAML file")
    recipe_set: dict[str, Any] = Field(default_factory=dict, description="recipe field overrides")
    model: str | None = Field(None, description="policy and reference model instead of the recipe's")
    dataset: str | None = Field(
        None, description="preference dataset (hub id or local copy) instead of the recipe's"
    )
    num_gpus: PositiveInt | None = Field(None, description="GPUs to train on; None: the recipe's")
    max_steps: PositiveInt | None = Field(None, description="stop after this many optimizer steps")
    data_fraction: float | None = Field(
        None, gt=0, le=1, description="train on this share of the train split"
    )

    def load(self) -> tuple[Recipe, str]:
        """The recipe with the overrides and the shortening applied, and where it came from."""
        overrides = dict(self.recipe_set)
        if self.max_steps is not None:
            overrides["max_steps"] = self.max_steps
        return load_recipe(self.recipe, overrides)


# Candidates reach a judged evaluator's training only through a job the discovery sandbox passed.
_VALIDATED = Validation(ok=True, checker="sandbox, before the candidate's job was started")


def plan_candidate(
    settings: TrainingSettings,
    objective: Objective,
    seed: int,
    beta: float,
    output_dir: Path,
    dataset: str | None = None,
) -> Plan:
    """The retrain plan of one candidate, seed and beta, writing its model to `output_dir`.

    Seed k trains with the recipe's seed + k, so a single-seed run trains exactly as the recipe says
    (seed 42 in the paper's).
    """
    recipe, origin = settings.load()
    training_seed = recipe.seed + seed
    recipe = recipe.model_copy(update={"seed": training_seed, "beta": beta})
    output_dir.mkdir(parents=True, exist_ok=True)
    return make_plan(
        objective,
        recipe,
        origin,
        {**settings.recipe_set, "seed": training_seed, "beta": beta},
        num_gpus=settings.num_gpus,
        model=settings.model,
        dataset=dataset or settings.dataset,
        output_dir=str(output_dir),
        validation=_VALIDATED,
    )


def training_subset(settings: TrainingSettings, cache_dir: Path) -> str | None:
    """A saved copy of the recipe's data with `data_fraction` of the train split (test split whole),
    built once under `cache_dir`; None when the whole split is used."""
    if settings.data_fraction is None or settings.data_fraction == 1:
        return None
    recipe, _ = settings.load()
    name = settings.dataset or recipe.dataset_name
    identity = (
        f"{name}|{recipe.dataset_config}|{recipe.dataset_train_split}|{settings.data_fraction}|{SUBSET_SEED}"
    )
    folder = cache_dir / "data-subsets" / hashlib.sha256(identity.encode()).hexdigest()[:16]
    if not (folder / "dataset_dict.json").is_file():
        from datasets import DatasetDict

        train = load_split(name, recipe.dataset_config, recipe.dataset_train_split)
        rows = max(1, math.floor(len(train) * settings.data_fraction))
        splits = {recipe.dataset_train_split: train.shuffle(seed=SUBSET_SEED).select(range(rows))}
        if recipe.dataset_test_split:
            splits[recipe.dataset_test_split] = load_split(
                name, recipe.dataset_config, recipe.dataset_test_split
            )
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        DatasetDict(splits).save_to_disk(str(staging))
        open_for_reading(staging)  # confined trainers read it as another user
        staging.rename(folder)  # complete or absent: an interrupted build is never mistaken for a subset
    return str(folder)
