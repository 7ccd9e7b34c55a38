"""The `mtbench` evaluator: the DiscoPOP paper's own inner loop.

A candidate objective trains the recipe's SFT model (by default the paper's zephyr-7b-gemma recipe,
optionally shortened with `max_steps` or `data_fraction`); the trained model answers the MT-Bench
questions, every turn, with its chat template; an OpenAI-compatible judge grades each answer 1-10 in
the MT-Bench single-answer style (later turns are graded in the context of the conversation, and
math / reasoning / coding answers against the reference answer). The fitness is the mean grade.
"""

import statistics
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from discovery.progress import Progress, no_progress
from discovery.records import SeedResult
from evaluators.judging.grading import judge_all, single_grades
from evaluators.judging.judged import JudgedEvaluator
from evaluators.judging.questions import MT_BENCH, MT_BENCH_SIZE, Question, load_questions, questions_digest
from evaluators.registry import register


class MTBenchTask(BaseModel):
    """Which questions are asked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    questions: str = Field(MT_BENCH, description="hub dataset id, or a local .json / .jsonl question file")
    limit: PositiveInt | None = Field(None, description="ask only the first N questions (cheaper discovery)")


@register
class MTBenchEvaluator(JudgedEvaluator):
    """Train on the retrain recipe with the objective; the fitness is the judge's mean MT-Bench grade."""

    name = "mtbench"
    description = (
        "The paper's inner loop: train the recipe's SFT model with the objective, answer MT-Bench (both "
        "turns), grade every answer 1-10 with an OpenAI-compatible LLM judge; fitness = mean grade."
    )
    Task = MTBenchTask

    def __init__(self, options: BaseModel, cache_dir: Path) -> None:
        super().__init__(options, cache_dir)
        self._questions: list[Question] | None = None

    def config(self) -> dict[str, Any]:
        return {
            **self.shared_config(),
            **self.task.model_dump(mode="json"),
            "questions_digest": questions_digest(self.questions),
        }

    def figures(self) -> dict[str, str]:
        return {
            "fitness": "mean judge grade (1-10) over every judged turn of every question; failed judgments "
            "are left out, never counted as zeros",
            "accuracy": "preference accuracy of the implicit reward on the recipe's test split (TRL's "
            "eval_rewards/accuracies), when the recipe has a test split",
            "turn_N": "mean grade of turn N alone (MT-Bench reports turn 1 and turn 2 separately)",
            "failed_judgments": "judgments with no parseable [[rating]] after every attempt",
            "judge_requests / judge_*_tokens / judge_cost_usd": "what the judge requests of this seed cost "
            "(zero when every judgment came from the cache; cost only when prices are set)",
            "cached_judgments": "judgments answered from the cache",
            "train_loss": "mean training loss of the run (TRL's train_loss)",
        }

    @property
    def questions(self) -> list[Question]:
        if self._questions is None:
            self._questions = load_questions(self.task.questions, self.task.limit)
        return self._questions

    def prepare(self, progress: Progress = no_progress) -> None:
        self.prepare_training(progress)
        _ = self.questions

    def score(self, output_dir: Path, seed: int, progress: Progress) -> SeedResult:
        started = time.perf_counter()
        questions = self.questions
        result, answers = self.trained_answers(output_dir, seed, questions, progress)
        requests = single_grades(questions, answers, self.judge.model)
        judged = judge_all(requests, self.judge, self.cache, progress)
        grades = [value for value in judged.values if value is not None]
        if not grades:
            raise RuntimeError(
                f"the judge gave no parseable rating in {len(requests)} judgments ({self.judge.model}); "
                "check the judge model and endpoint"
            )
        by_turn: dict[int, list[float]] = {}
        for request, value in zip(requests, judged.values, strict=True):
            if value is not None:
                by_turn.setdefault(request.key.turn, []).append(value)
        extra = {f"turn_{turn + 1}": statistics.fmean(values) for turn, values in sorted(by_turn.items())}
        extra.update(self.judge_figures(judged.usage, judged))
        if "train_loss" in result.train_metrics:
            extra["train_loss"] = result.train_metrics["train_loss"]
        return SeedResult(
            seed=seed,
            fitness=statistics.fmean(grades),
            accuracy=result.eval_metrics.get("eval_rewards/accuracies"),
            seconds=time.perf_counter() - started,
            train_seconds=result.seconds,
            extra=extra,
        )

    def plan(self, candidates: int = 1, seeds: int = 1) -> dict[str, Any]:
        """The full plan of a run scoring `candidates` objectives with `seeds` seeds each, JSON-able.

        Nothing is trained; the question set is loaded to count its turns (80 rows), and when it cannot
        be (offline), MT-Bench's published size stands in and the plan says so."""
        count, turns, source = self._question_count()
        return {
            "title": "mtbench",
            "evaluator": {"name": self.name, "description": self.description, "figures": self.figures()},
            "training": self.training_section(),
            "answers": {
                "questions": self.task.questions,
                "question_count": count,
                "turns": turns,
                "counted_from": source,
                **self.generation.model_dump(mode="json"),
            },
            "judge": self.judge_section(turns, candidates, seeds) if turns is not None else None,
            "run": {"candidates": candidates, "seeds": seeds, "work_dir": str(self.work_dir)},
        }

    def _question_count(self) -> tuple[int | None, int | None, str]:
        """(questions, turns in all, where the figure comes from)."""
        from discovery.errors import UserError

        try:
            questions = self.questions
        except UserError:
            if self.task.questions != MT_BENCH:
                return None, None, "unknown until the question set is loaded"
            count = min(MT_BENCH_SIZE, self.task.limit or MT_BENCH_SIZE)
            return count, 2 * count, "the published size of MT-Bench (80 questions x 2 turns)"
        return len(questions), sum(len(q.turns) for q in questions), f"counted in {self.task.questions}"
