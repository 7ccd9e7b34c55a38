"""What `mtbench` and `alpaca` share: options, the judgment cache, training a candidate on the recipe
and having the trained model answer a question set, and the training and judge sections of a plan."""

import hashlib
import json
import math
import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from discovery.llm import API_KEY_ENV
from discovery.objectives import Objective
from discovery.paths import huggingface_home
from discovery.progress import Progress, no_progress
from discovery.retrain.distributed import accelerate_command
from discovery.retrain.launch import train
from discovery.retrain.plan import count_steps, keep_total_batch, steps_per_epoch
from discovery.retrain.result import RESULT_FILE, RetrainResult
from discovery.sandbox.outputs import read_json
from evaluators import option_groups
from evaluators.base import Evaluator, TrainingLimits
from evaluators.judging.answers import (
    GenerationSettings,
    answer_questions,
    trained_model_folder,
)
from evaluators.judging.cache import JudgmentCache
from evaluators.judging.client import JudgeSettings, Usage
from evaluators.judging.grading import Judgments
from evaluators.judging.questions import Question
from evaluators.judging.recipe_run import TrainingSettings, plan_candidate, training_subset

JUDGMENTS_FILE = "judgments.sqlite"
MODEL_FOLDER = "model"
ANSWERS_FILE = "answers.json"


def judge_prompts_digest() -> str:
    """Hash of the judge prompt files: edited prompts give different (not comparable) figures."""
    folder = resources.files("prompts")
    texts = sorted(
        (entry.name, entry.read_text())
        for entry in folder.iterdir()
        if entry.name.startswith("judge_") and entry.name.endswith(".txt")
    )
    return hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:12]


class Storage(BaseModel):
    """Where things go; none of it changes the figures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    work_dir: Path | None = Field(
        None, description="trained candidates and their answers; default: <cache root>/<evaluator>/candidates"
    )
    keep_models: bool = Field(False, description="keep each trained model (7B: about 17 GB each)")


class JudgedEvaluator(Evaluator):
    """Base of the evaluators that train on the retrain recipe and score with an LLM judge.

    Subclasses declare their own task settings class (`Task`) and implement the scoring; their
    `Options` are every field of the task, training, answer, judge (prefixed `judge_`) and storage
    settings, derived from those classes when the subclass is defined.
    """

    Task: ClassVar[type[BaseModel]]
    calls_endpoint = True  # the judge

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.Options = option_groups.flat_model(f"{cls.__name__}Options", cls.groups())

    @classmethod
    def groups(cls) -> option_groups.Groups:
        """The settings groups behind the flat options, with the prefix of each group's keys."""
        return {
            "task": (cls.Task, ""),
            "training": (TrainingSettings, ""),
            "generation": (GenerationSettings, ""),
            "judge": (JudgeSettings, "judge_"),
            "storage": (Storage, ""),
        }

    def __init__(self, options: BaseModel, cache_dir: Path) -> None:
        super().__init__(options, cache_dir)
        settings = option_groups.split(options, self.groups())
        self.task = settings["task"]
        self.training: TrainingSettings = settings["training"]
        self.generation: GenerationSettings = settings["generation"]
        self.judge: JudgeSettings = settings["judge"]
        storage: Storage = settings["storage"]
        self.work_dir = storage.work_dir or self.cache_dir / self.name / "candidates"
        self.keep_models = storage.keep_models
        self._subset: str | None = None
        self._cache: JudgmentCache | None = None

    def shared_config(self) -> dict[str, Any]:
        """The settings that change the figures, common to every judged evaluator."""
        return {
            "evaluator": self.name,
            "training": self.training_config(),
            "generation": self.generation.model_dump(mode="json", exclude={"answer_batch_size", "backend"}),
            "judge": self.judge.model_dump(
                mode="json", include={"model", "base_url", "temperature", "max_tokens", "parse_attempts"}
            ),
            "judge_prompts": judge_prompts_digest(),
        }

    def training_config(self) -> dict[str, Any]:
        """The resolved recipe (not just its name: a recipe file can change) and the shortening."""
        recipe, origin = self.training.load()
        return {
            "recipe_origin": origin,
            "recipe": recipe.model_dump(mode="json"),
            "model": self.training.model or recipe.model_name_or_path,
            "dataset": self.training.dataset or recipe.dataset_name,
            "num_gpus": self.training.num_gpus or recipe.num_gpus,
            "data_fraction": self.training.data_fraction or 1.0,
            "max_steps": self.training.max_steps,
        }

    @property
    def cache(self) -> JudgmentCache:
        if self._cache is None:
            self._cache = JudgmentCache(self.cache_dir / JUDGMENTS_FILE)
        return self._cache

    def prepare_training(self, progress: Progress = no_progress) -> None:
        """Check the recipe and the judge's key, and build the data subset once (when asked for one)."""
        self.training.load()
        self.judge.api_key()
        if self._subset is None and self.training.data_fraction is not None:
            progress("data", None)
            self._subset = training_subset(self.training, self.cache_dir)

    def limits(self) -> TrainingLimits:
        # A 7B candidate trains in about half an hour on 8 GPUs; GPU drivers need an unlimited address space.
        return TrainingLimits(timeout_s=12 * 3600, memory_mb=None)

    def readable_paths(self) -> list[Path]:
        """The model cache, the data subset (when one is used), and the recipe's model and data
        where they are local."""
        recipe, origin = self.training.load()
        named = [self.training_model(), self.training.dataset or recipe.dataset_name, origin]
        if self._subset is not None:
            named.append(self._subset)
        return [huggingface_home(), *(Path(name).resolve() for name in named if Path(name).exists())]

    def trainer_environment(self) -> dict[str, str]:
        return {"HF_HOME": str(huggingface_home())}  # for the processes `accelerate launch` starts

    def betas(self) -> list[float]:
        """The recipe's beta only: a 7B training per beta would multiply the cost of a candidate."""
        recipe, _ = self.training.load()
        return [recipe.beta]

    def train(
        self, objective: Objective, seed: int, beta: float, output_dir: Path, progress: Progress
    ) -> None:
        """Inside the confined trainer: the retrain recipe with the objective (accelerate on GPUs)."""
        progress("train", None)
        plan = plan_candidate(
            self.training, objective, seed, beta, output_dir / MODEL_FOLDER, dataset=self._subset
        )
        train(plan)

    def trained_answers(
        self, output_dir: Path, seed: int, questions: list[Question], progress: Progress
    ) -> tuple[RetrainResult, dict[str, list[str]]]:
        """In the trusted scorer: what the confined trainer reported, and the answers of the model it
        wrote, loaded from safetensors only with the recipe model's tokenizer. The weights are kept in
        the work folder if `keep_models`; the answers stay there for a reader."""
        model_dir = trained_model_folder(output_dir / MODEL_FOLDER, self.training_model())
        result = read_json(model_dir, RESULT_FILE, RetrainResult, max_bytes=64 * 1024 * 1024)
        answers = answer_questions(
            str(model_dir), questions, self.generation, seed, progress, tokenizer=self.training_model()
        )
        kept = self.work_dir / f"{output_dir.parent.name}-seed{seed}"
        kept.mkdir(parents=True, exist_ok=True)
        (kept / ANSWERS_FILE).write_text(json.dumps(answers, indent=1))
        if self.keep_models:
            shutil.rmtree(kept / MODEL_FOLDER, ignore_errors=True)
            shutil.move(model_dir, kept / MODEL_FOLDER)
        return result, answers

    def training_model(self) -> str:
        """The SFT model the recipe trains from (the baseline of the answers' tokenizer and shape)."""
        recipe, _ = self.training.load()
        return self.training.model or recipe.model_name_or_path

    def judge_figures(self, usage: Usage, judged: Judgments) -> dict[str, float]:
        """Judge cost figures for a seed's `extra`: requests, tokens, cost, failures, cache hits."""
        figures = {
            "failed_judgments": float(judged.failed),
            "cached_judgments": float(judged.from_cache),
            "judge_requests": float(usage.requests),
            "judge_prompt_tokens": float(usage.prompt_tokens),
            "judge_completion_tokens": float(usage.completion_tokens),
        }
        cost = usage.cost(self.judge)
        if cost is not None:
            figures["judge_cost_usd"] = cost
        return figures

    def training_section(self) -> dict[str, Any]:
        """The inner training of one candidate as the retrain planner resolves it: batch, steps, launch."""
        recipe, origin = self.training.load()
        batch = keep_total_batch(recipe, self.training.num_gpus or recipe.num_gpus)
        dataset = self.training.dataset or recipe.dataset_name
        steps = count_steps(recipe, batch, dataset)
        rows, optimizer = steps.train_rows, steps.optimizer_steps
        if rows is not None and self.training.data_fraction is not None:
            rows = max(1, math.floor(rows * self.training.data_fraction))
            optimizer = math.ceil(recipe.num_train_epochs * steps_per_epoch(rows, batch))
        if optimizer is not None and self.training.max_steps is not None:
            optimizer = min(optimizer, self.training.max_steps)
        arguments = recipe.training_arguments()
        arguments.pop("max_steps", None)
        output = self.work_dir / "<candidate>-seed<seed>" / MODEL_FOLDER
        return {
            "recipe": origin,
            "model": self.training.model or recipe.model_name_or_path,
            "dataset": dataset,
            "data_fraction": self.training.data_fraction or 1.0,
            "train_rows": rows,
            "rows_source": steps.rows_source,
            "total_batch": batch.total,
            "batch": batch.note,
            "max_steps": self.training.max_steps,
            "optimizer_steps": optimizer,
            "launch": " ".join(accelerate_command(output, batch.num_gpus)),
            "hyperparameters": {**arguments, "gradient_accumulation_steps": batch.accumulation},
        }

    def judge_section(self, calls_per_seed: int, candidates: int, seeds: int) -> dict[str, Any]:
        """The judge, and how many requests a run needs (each may be repeated up to `parse_attempts`
        times when the reply has no verdict; cached judgments are free)."""
        prices = (
            f"{self.judge.input_price} / {self.judge.output_price} USD per million tokens (in / out)"
            if self.judge.input_price is not None or self.judge.output_price is not None
            else "list prices of known models (set judge_input_price / judge_output_price for others)"
        )
        return {
            "model": self.judge.model,
            "base_url": self.judge.base_url or "https://api.openai.com/v1",
            "api_key": _key_source(self.judge),
            "temperature": self.judge.temperature,
            "max_tokens": self.judge.max_tokens,
            "parse_attempts": self.judge.parse_attempts,
            "concurrency": self.judge.concurrency,
            "prices": prices,
            "calls_per_candidate_seed": calls_per_seed,
            "calls_per_candidate": calls_per_seed * seeds,
            "calls_for_run": calls_per_seed * seeds * candidates,
            "max_calls_for_run": calls_per_seed * seeds * candidates * self.judge.parse_attempts,
            "cache": str(self.cache_dir / JUDGMENTS_FILE),
            "prompts": judge_prompts_digest(),
        }


def _key_source(judge: JudgeSettings) -> str:
    if os.environ.get(API_KEY_ENV):
        return API_KEY_ENV
    return (
        "placeholder (local endpoint)" if judge.base_url else f"MISSING: set {API_KEY_ENV} or judge_base_url"
    )
