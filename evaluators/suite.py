"""The search's task when a run names a suite: every meta-train variant of another evaluator's task.

One training of an objective (a seed at a beta) trains and scores it on each meta-train variant in
turn, with the same seed (common random numbers), in one confined job; the figure is the mean over
the variants of each one's figure, and each variant's own figures travel along
(`SeedResult.extra`: `noisy.fitness`, ...). Everything else a run does (racing over seeds, one beta
per objective tuned on the whole suite, the pairing with DPO on the same seeds, the seed-score
cache) works on that mean unchanged: the paired difference with DPO of a mean is the mean over the
variants of the paired differences. One beta for the whole suite is what a user deploys: a loss
whose beta must be retuned for every condition has not been shown to be better.

The meta-test variants never reach this evaluator: only the end-of-run confirmation builds them
(`discovery.transfer`), so neither the fitness nor the proposer's context can hold them.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from discovery.errors import UserError
from discovery.objectives import Objective
from discovery.progress import Progress, no_progress
from discovery.records import SeedResult
from discovery.sandbox.outputs import checked_folder
from discovery.suite import DEFAULT, SINGLE, Suite, SuiteChoice
from evaluators.base import Evaluator, TrainingLimits, TransferVariant
from evaluators.registry import evaluator_class, get_evaluator, register

SUITE_EVALUATOR = "suite"
_MEAN_FIGURES = ("reward", "kl", "accuracy", "unchanged_fitness")


class SuiteOptions(BaseModel):
    """The evaluator whose task varies, its options, and the meta-train variants (options on top)."""

    model_config = ConfigDict(extra="forbid")

    evaluator: str = Field(description="the evaluator whose task the variants change, as `module:name`")
    options: dict[str, Any] = Field(default_factory=dict, description="the run's options of it")
    variants: dict[str, dict[str, Any]] = Field(min_length=1, description="meta-train variants")


@register
class SuiteEvaluator(Evaluator):
    """Train and score on each meta-train variant; the figures are the means over them."""

    name = SUITE_EVALUATOR
    description = "the meta-train variants of another evaluator's task (built by a run that names a suite)"
    Options = SuiteOptions
    hidden = True

    def __init__(self, options: SuiteOptions, cache_dir: Path) -> None:
        super().__init__(options, cache_dir)
        self.members: dict[str, Evaluator] = {}
        for variant, changes in options.variants.items():
            try:
                self.members[variant] = get_evaluator(
                    options.evaluator, {**options.options, **changes}, cache_dir
                )
            except UserError as error:
                raise UserError(f"suite variant {variant}: {error}") from error
        grids = {tuple(member.betas()) for member in self.members.values()}
        if len(grids) > 1:
            raise UserError("a suite's variants must share the beta grid: one beta is tuned for all of them")
        if any(member.calls_endpoint for member in self.members.values()):
            raise UserError("a suite's variants cannot call an endpoint to score")
        self.version = evaluator_class(options.evaluator).version

    def config(self) -> dict[str, Any]:
        variants = {variant: member.config() for variant, member in self.members.items()}
        return {"evaluator": self.options.evaluator, "variants": variants}

    def figures(self) -> dict[str, str]:
        first = next(iter(self.members.values())).figures()
        variants = ", ".join(self.members)
        meant = {name: f"mean over the variants ({variants}) of: {text}" for name, text in first.items()}
        return {**meant, "<variant>.<figure>": "each variant's own figure, e.g. noisy.fitness"}

    def prepare(self, progress: Progress = no_progress) -> None:
        for variant, member in self.members.items():
            member.prepare(lambda phase, fraction, variant=variant: progress(f"{variant}: {phase}", fraction))

    def limits(self) -> TrainingLimits:
        """The variants train one after another: their deadlines add up."""
        each = [member.limits() for member in self.members.values()]
        memories = [limits.memory_mb for limits in each]
        measured = [limits.baseline_s for limits in each]
        return TrainingLimits(
            timeout_s=sum(limits.timeout_s for limits in each),
            memory_mb=None if None in memories else max(m for m in memories if m is not None),
            baseline_s=None if None in measured else sum(s for s in measured if s is not None),
            note="the sum of the variants' deadlines",
        )

    def readable_paths(self) -> list[Path]:
        return [path for member in self.members.values() for path in member.readable_paths()]

    def trainer_environment(self) -> dict[str, str]:
        return {
            key: value
            for member in self.members.values()
            for key, value in member.trainer_environment().items()
        }

    def batch_pairs(self) -> int | None:
        sizes = {member.batch_pairs() for member in self.members.values()}
        return sizes.pop() if len(sizes) == 1 else None

    def betas(self) -> list[float]:
        return next(iter(self.members.values())).betas()

    def train(
        self, objective: Objective, seed: int, beta: float, output_dir: Path, progress: Progress
    ) -> None:
        """Each variant's policy into its own folder, `output_dir/<variant>`."""
        for variant, member in self.members.items():
            folder = output_dir / variant
            folder.mkdir()
            member.train(
                objective,
                seed,
                beta,
                folder,
                lambda phase, f, variant=variant: progress(f"{variant} {phase}", f),
            )

    def score(self, output_dir: Path, seed: int, progress: Progress) -> SeedResult:
        """Each variant's figures, and their means; a seed collapsed when any variant's did."""
        scored = {
            variant: member.score(
                checked_folder(output_dir, variant),
                seed,
                lambda phase, f, variant=variant: progress(f"{variant} {phase}", f),
            )
            for variant, member in self.members.items()
        }
        return mean_result(seed, scored)


def mean_result(seed: int, scored: dict[str, SeedResult]) -> SeedResult:
    """The mean of the variants' results of one seed, each variant's figures kept as `variant.figure`."""
    results = list(scored.values())

    def mean(figure: str) -> float | None:
        values = [getattr(result, figure) for result in results]
        return None if None in values else sum(values) / len(values)

    extra = {
        f"{variant}.{figure}": value
        for variant, result in scored.items()
        for figure in ("fitness", *_MEAN_FIGURES[:3])
        if (value := getattr(result, figure)) is not None
    }
    return SeedResult(
        seed=seed,
        fitness=sum(result.fitness for result in results) / len(results),
        collapsed=any(result.collapsed for result in results),
        seconds=sum(result.seconds for result in results),
        train_seconds=_total([result.train_seconds for result in results]),
        extra=extra,
        **{figure: mean(figure) for figure in _MEAN_FIGURES},
    )


def _total(values: list[float | None]) -> float | None:
    """The sum, or None when a value is unknown."""
    return None if None in values else sum(value for value in values if value is not None)


def chosen_suite(evaluator: Evaluator, choice: SuiteChoice) -> Suite | None:
    """The suite a run's `suite:` names for `evaluator`, or None for its task alone."""
    if isinstance(choice, Suite):
        return choice
    if choice == SINGLE:
        return None
    if choice == DEFAULT:
        default = evaluator.default_suite()
        return None if default is None else evaluator.suites()[default]
    shipped = evaluator.suites()
    if choice not in shipped:
        names = ", ".join([*shipped, DEFAULT, SINGLE])
        raise UserError(f"the {evaluator.name} evaluator has no suite {choice!r} (choose one of: {names})")
    return shipped[choice]


@dataclass(frozen=True)
class RunTask:
    """What a run trains on: the search's evaluator (the task, or its suite's meta-train variants)
    and the held-out variants its best are confirmed on (the suite's meta-test, or the task's own
    transfer variants)."""

    configured: Evaluator  # the evaluator the run's options build: what `--set` changes
    search: Evaluator
    held_out: list[TransferVariant]
    suite: Suite | None = None


def run_task(name: str, options: dict[str, Any], choice: SuiteChoice, cache_dir: Path) -> RunTask:
    """The task of a run on evaluator `name` with `options` and `suite: choice`; nothing is built yet."""
    task = get_evaluator(name, options, cache_dir)
    suite = chosen_suite(task, choice)
    if suite is None:
        return RunTask(task, task, task.transfer_variants())
    # by its module too: the worker that rebuilds the suite may not have imported the evaluator yet
    located = f"{type(task).__module__}:{task.name}"
    variants = SuiteOptions(evaluator=located, options=dict(options), variants=dict(suite.meta_train))
    held_out = [
        TransferVariant(name=variant, description=suite.changes(variant), options=changes)
        for variant, changes in suite.meta_test.items()
    ]
    return RunTask(task, SuiteEvaluator(variants, cache_dir), held_out, suite)
