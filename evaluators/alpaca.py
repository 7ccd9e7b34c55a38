"""The `alpaca` evaluator: the paper's held-out check of a finished model, AlpacaEval-style.

The trained model (trained here with the objective on the retrain recipe, or a finished model given
as `trained_model`) and the baseline (by default the recipe's SFT model) answer the same
instructions; an OpenAI-compatible judge compares each pair. Each pair is judged in both orders (A/B
then B/A) and the two verdicts averaged, so the judge's position bias cancels; with
`both_orders=false` one order per prompt is drawn at random instead. Figures: the win rate and the
length-controlled win rate (see `evaluators.judging.length_control`), the fitness.
"""

import hashlib
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from discovery.objectives import Objective
from discovery.progress import Progress, no_progress
from discovery.records import SeedResult
from evaluators.judging.answers import answer_questions
from evaluators.judging.grading import Request, judge_all, pairwise_preference
from evaluators.judging.judged import JudgedEvaluator
from evaluators.judging.length_control import length_controlled
from evaluators.judging.questions import (
    ALPACA_EVAL,
    ALPACA_EVAL_SIZE,
    Question,
    load_instructions,
    questions_digest,
)
from evaluators.registry import register


class AlpacaTask(BaseModel):
    """Which prompts, which models, which presentation orders."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompts: str = Field(ALPACA_EVAL, description="hub dataset / hf:// JSON file, or a local .json / .jsonl")
    limit: PositiveInt | None = Field(None, description="judge only the first N prompts")
    trained_model: str | None = Field(None, description="judge this finished model instead of training one")
    baseline: str | None = Field(
        None, description="the model compared against; default: the recipe's SFT model"
    )
    both_orders: bool = Field(True, description="judge every pair in both orders (else one random order)")
    order_seed: int = Field(0, description="seed of the random orders when both_orders is false")


@register
class AlpacaEvaluator(JudgedEvaluator):
    """Pairwise judge of the trained model against the SFT model: (length-controlled) win rate."""

    name = "alpaca"
    description = (
        "Held-out check: the trained model against the SFT model on AlpacaEval instructions, judged "
        "pairwise in both orders by an OpenAI-compatible LLM; fitness = length-controlled win rate (%)."
    )
    Task = AlpacaTask

    def __init__(self, options: BaseModel, cache_dir: Path) -> None:
        super().__init__(options, cache_dir)
        self._prompts: list[Question] | None = None
        self._baseline_answers: dict[str, list[str]] | None = None

    def config(self) -> dict[str, Any]:
        return {
            **self.shared_config(),
            **self.task.model_dump(mode="json"),
            "baseline": self.baseline,
            "prompts_digest": questions_digest(self.prompts),
        }

    def figures(self) -> dict[str, str]:
        return {
            "fitness": "length-controlled win rate (%) against the baseline: the win rate predicted at equal "
            "answer lengths by a logistic fit of the preference on tanh(length difference / its std)",
            "win_rate": "share of prompts on which the judge preferred the model (%, ties count half, both "
            "orders averaged)",
            "lc_win_rate": "the fitness",
            "length_slope": "fitted effect of the (squashed) length difference: > 0 means longer answers won",
            "wins / ties / losses": "prompts with preference above, at, below one half",
            "model_chars / baseline_chars": "mean answer length in characters",
            "failed_judgments": "judgments with no parseable [[A]] / [[B]] / [[C]] after every attempt; a "
            "prompt whose judgments all failed is left out of both win rates",
            "judge_requests / judge_*_tokens / judge_cost_usd": "what this seed's judge requests cost",
        }

    @property
    def baseline(self) -> str:
        """The baseline model: the option, else the (possibly overridden) recipe model."""
        if self.task.baseline:
            return self.task.baseline
        recipe, _ = self.training.load()
        return self.training.model or recipe.model_name_or_path

    @property
    def prompts(self) -> list[Question]:
        if self._prompts is None:
            self._prompts = load_instructions(self.task.prompts, self.task.limit)
        return self._prompts

    def prepare(self, progress: Progress = no_progress) -> None:
        if self.task.trained_model is None:
            self.prepare_training(progress)
        else:
            self.judge.api_key()
        self.baseline_answers(progress)

    def baseline_answers(self, progress: Progress = no_progress) -> dict[str, list[str]]:
        """The baseline's answers, generated once and kept in the cache folder."""
        if self._baseline_answers is None:
            identity = json.dumps(
                [
                    self.baseline,
                    self.generation.model_dump(mode="json", exclude={"answer_batch_size", "backend"}),
                    [[q.id, q.turns] for q in self.prompts],
                ]
            )
            path = (
                self.cache_dir
                / self.name
                / f"baseline-{hashlib.sha256(identity.encode()).hexdigest()[:16]}.json"
            )
            if path.is_file():
                self._baseline_answers = json.loads(path.read_text())
            else:
                self._baseline_answers = answer_questions(
                    self.baseline, self.prompts, self.generation, 0, progress
                )
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(self._baseline_answers, indent=1))
        return self._baseline_answers

    def train(
        self, objective: Objective, seed: int, beta: float, output_dir: Path, progress: Progress
    ) -> None:
        if self.task.trained_model is None:  # a finished model is judged as it is
            super().train(objective, seed, beta, output_dir, progress)

    def score(self, output_dir: Path, seed: int, progress: Progress) -> SeedResult:
        started = time.perf_counter()
        prompts = self.prompts
        baseline = self.baseline_answers(progress)
        train_seconds, extra = None, {}
        if self.task.trained_model is not None:
            answers = answer_questions(self.task.trained_model, prompts, self.generation, seed, progress)
        else:
            result, answers = self.trained_answers(output_dir, seed, prompts, progress)
            train_seconds = result.seconds
            if "train_loss" in result.train_metrics:
                extra["train_loss"] = result.train_metrics["train_loss"]

        requests, model_is_a = self._requests(prompts, answers, baseline)
        judged = judge_all(requests, self.judge, self.cache, progress)
        per_prompt: dict[str, list[float]] = {}
        for request, first, value in zip(requests, model_is_a, judged.values, strict=True):
            if value is not None:
                per_prompt.setdefault(request.key.question_id, []).append(value if first else 1 - value)
        if not per_prompt:
            raise RuntimeError(
                f"the judge gave no parseable verdict in {len(requests)} judgments ({self.judge.model}); "
                "check the judge model and endpoint"
            )
        kept = [q for q in prompts if q.id in per_prompt]
        preferences = [statistics.fmean(per_prompt[q.id]) for q in kept]
        model_chars = [len(answers[q.id][0]) for q in kept]
        baseline_chars = [len(baseline[q.id][0]) for q in kept]
        rates = length_controlled(
            preferences, [m - b for m, b in zip(model_chars, baseline_chars, strict=True)]
        )
        extra.update(
            win_rate=rates.win_rate,
            lc_win_rate=rates.lc_win_rate,
            length_slope=rates.length_slope,
            wins=float(sum(p > 0.5 for p in preferences)),
            ties=float(sum(p == 0.5 for p in preferences)),
            losses=float(sum(p < 0.5 for p in preferences)),
            model_chars=statistics.fmean(model_chars),
            baseline_chars=statistics.fmean(baseline_chars),
        )
        extra.update(self.judge_figures(judged.usage, judged))
        return SeedResult(
            seed=seed,
            fitness=rates.lc_win_rate,
            seconds=time.perf_counter() - started,
            train_seconds=train_seconds,
            extra=extra,
        )

    def _requests(
        self, prompts: list[Question], answers: dict[str, list[str]], baseline: dict[str, list[str]]
    ) -> tuple[list[Request], list[bool]]:
        """Judge requests and, for each, whether the model's answer is shown as A."""
        requests, model_is_a = [], []
        for question in prompts:
            mine, theirs = answers[question.id][0], baseline[question.id][0]
            if self.task.both_orders:
                orders = [True, False]
            else:
                orders = [random.Random(f"{self.task.order_seed}:{question.id}").random() < 0.5]
            for first in orders:
                a, b = (mine, theirs) if first else (theirs, mine)
                requests.append(pairwise_preference(question, a, b, self.judge.model))
                model_is_a.append(first)
        return requests, model_is_a

    def plan(self, candidates: int = 1, seeds: int = 1) -> dict[str, Any]:
        """The plan of judging `candidates` models with `seeds` seeds each, JSON-able; nothing is trained."""
        count, source = self._prompt_count()
        calls = count * (2 if self.task.both_orders else 1) if count is not None else None
        return {
            "title": "alpaca",
            "evaluator": {"name": self.name, "description": self.description, "figures": self.figures()},
            "training": (
                {"trained_model": self.task.trained_model}
                if self.task.trained_model
                else self.training_section()
            ),
            "answers": {
                "prompts": self.task.prompts,
                "prompt_count": count,
                "counted_from": source,
                "baseline": self.baseline,
                **self.generation.model_dump(mode="json"),
            },
            "judge": self.judge_section(calls, candidates, seeds) if calls is not None else None,
            "run": {"candidates": candidates, "seeds": seeds, "work_dir": str(self.work_dir)},
        }

    def _prompt_count(self) -> tuple[int | None, str]:
        from discovery.errors import UserError

        try:
            return len(self.prompts), f"counted in {self.task.prompts}"
        except UserError:
            if self.task.prompts != ALPACA_EVAL:
                return None, "unknown until the prompt set is loaded"
            return min(
                ALPACA_EVAL_SIZE, self.task.limit or ALPACA_EVAL_SIZE
            ), "the published size of AlpacaEval"
