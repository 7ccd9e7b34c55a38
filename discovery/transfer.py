"""Held-out confirmation: do a run's discoveries hold up on variants of the task the search never saw?

The search picks its winners among many candidates on its own task (or its suite's meta-train
variants), so the best search figure is biased upward: part of what wins is seed noise and part is
fitted to that task. At the end of a run (and with `discover transfer RUN`), the top proposals by
the search's lower bound and the baseline are trained again on each held-out variant (a suite's
meta-test variants; for a single task, the evaluator's own: another data seed, a larger model, a
beta between the grid's points), on fresh seeds the search never used, each at the beta its search
chose (so nothing is tuned on what it is tested on).

A proposal is **confirmed** when it beats the baseline over all the held-out trainings together:
its differences with the baseline, variant by variant and seed by seed, have a positive mean, and
the exact sign-flip test of "no difference" gives a p-value that stays below `ALPHA` after Holm's
correction over the k proposals confirmed at once. A survivor of one variant is a weaker claim and
is shown as such; the rank correlation between the search's figures and a variant's says how much of
the search's ranking carries over.

Each variant's results are committed to the archive as soon as its trainings are in; running the
transfer again does only what is missing, so an interrupted transfer loses little.
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.execution.batch import Trainings, in_background, train_objectives
from discovery.execution.executor import Executor
from discovery.execution.job import CandidateJob, JobOutcome, JobSettings
from discovery.fitness import holm, sign_flip_p_value, spearman, summarise
from discovery.objectives import Objective
from discovery.records import CandidateRecord, EvaluationResult, TrainingPoint, TransferRecord
from discovery.untrusted import visible
from evaluators import get_evaluator
from evaluators.base import TransferVariant

TRANSFER_FOLDER = "transfer"
ALPHA = 0.05  # a confirmation's Holm-corrected p-value must be below it


@dataclass(frozen=True)
class Confirmation:
    """A proposal against the baseline over every held-out variant and fresh seed at once."""

    candidate_id: str
    n: int  # (variant, seed) pairs both trained
    difference: float | None  # mean over them of (proposal - baseline) fitness
    p_value: float | None  # exact sign-flip test of "no difference"
    adjusted_p: float | None  # Holm-corrected over the proposals confirmed together
    complete: bool  # trained on every held-out variant

    @property
    def confirmed(self) -> bool:
        return (
            self.complete
            and self.adjusted_p is not None
            and self.adjusted_p < ALPHA
            and (self.difference or 0.0) > 0
        )

    @property
    def verdict(self) -> str:
        """`confirmed`, `not confirmed`, or `incomplete` while a variant is missing."""
        if not self.complete:
            return "incomplete"
        return "confirmed" if self.confirmed else "not confirmed"

    def describe(self) -> str:
        """`+0.021 vs the baseline over 12 held-out trainings, Holm p 0.008`."""
        if self.difference is None or self.adjusted_p is None:
            return "no held-out trainings to compare"
        return (
            f"{self.difference:+.3f} vs the baseline over {self.n} held-out trainings, "
            f"Holm p {self.adjusted_p:.2g}"
        )


@dataclass
class TransferSummary:
    """What a run's transfer found: per candidate and variant the figures, which discoveries
    survive, and per variant the rank correlation with the search."""

    variants: list[TransferVariant]
    candidates: list[CandidateRecord]  # the baseline first, then the top proposals
    results: dict[tuple[str, str], TransferRecord] = field(default_factory=dict)  # (variant, id)

    def survives(self, candidate_id: str, variant: str) -> bool | None:
        """Whether the candidate beats the baseline on the variant (None when unknown)."""
        record = self.results.get((variant, candidate_id))
        paired = record.result.paired if record and record.result else None
        return None if paired is None else paired.difference > 0

    def confirmations(self) -> dict[str, Confirmation]:
        """Each proposal's confirmation (see the module's docstring), by candidate id; Holm's
        correction runs over the proposals that have a p-value."""
        if not self.candidates:
            return {}
        baseline_id = self.candidates[0].id
        variants = sorted({variant for variant, candidate in self.results if candidate == baseline_id})
        found: dict[str, tuple[list[float], bool]] = {}
        for candidate in self.candidates[1:]:
            differences, complete = [], bool(variants)
            for variant in variants:
                ours, theirs = (
                    self._seed_figures(variant, candidate.id),
                    self._seed_figures(variant, baseline_id),
                )
                complete = complete and bool(ours)
                differences += [ours[seed] - theirs[seed] for seed in sorted(ours.keys() & theirs.keys())]
            found[candidate.id] = (differences, complete)
        tested = [id for id, (differences, _) in found.items() if differences]
        adjusted = dict(zip(tested, holm([sign_flip_p_value(found[id][0]) for id in tested]), strict=True))
        return {
            id: Confirmation(
                candidate_id=id,
                n=len(differences),
                difference=sum(differences) / len(differences) if differences else None,
                p_value=sign_flip_p_value(differences) if differences else None,
                adjusted_p=adjusted.get(id),
                complete=complete,
            )
            for id, (differences, complete) in found.items()
        }

    def _seed_figures(self, variant: str, candidate_id: str) -> dict[int, float]:
        """The candidate's fitness on the variant, by seed (empty when it has none)."""
        record = self.results.get((variant, candidate_id))
        return {t.seed: t.fitness for t in record.result.seeds} if record and record.result else {}

    def rank_correlation(self, variant: str) -> float | None:
        """Spearman's rho between search fitness and the variant's, over what both measured."""
        pairs = [
            (candidate.fitness, record.result.fitness)
            for candidate in self.candidates
            if (record := self.results.get((variant, candidate.id)))
            and record.result
            and candidate.fitness is not None
        ]
        if len(pairs) < 3 or len({a for a, _ in pairs}) < 2 or len({b for _, b in pairs}) < 2:
            return None
        return spearman([a for a, _ in pairs], [b for _, b in pairs])


def run_result(found: "TransferSummary | None") -> str:
    """A run's answer in one line: which proposals the held-out confirmation confirmed (each worth a
    retrain at scale), or that none held up, with the best one's figures."""
    if found is None:
        return (
            "nothing confirmed: the run holds no held-out confirmation (none ran yet, the task has no "
            "held-out variants, or transfer.top is 0)"
        )
    if not found.candidates:
        return "nothing confirmed: no proposal was scored beside the baseline"
    names = {
        candidate.id: visible(f"{candidate.id} ({candidate.name})", one_line=True)
        for candidate in found.candidates
    }
    baseline = visible(found.candidates[0].name, one_line=True)
    verdicts = found.confirmations()
    confirmed = [verdict for verdict in verdicts.values() if verdict.confirmed]
    if confirmed:
        best = confirmed[0]
        listed = ", ".join(names[verdict.candidate_id] for verdict in confirmed)
        return (
            f"CONFIRMED {len(confirmed)} of {len(verdicts)}: {listed} beat {baseline} on the held-out "
            f"variants ({best.describe()}); worth a retrain at scale: "
            f"discover retrain {found.candidates[0].run_id}/{best.candidate_id}"
        )
    incomplete = [verdict for verdict in verdicts.values() if not verdict.complete]
    if incomplete:
        return (
            f"not confirmed: {len(incomplete)} of {len(verdicts)} proposals lack a held-out variant "
            "(failed trainings); `discover transfer RUN --train` trains what is missing"
        )
    best = next(iter(verdicts.values()))
    return (
        f"nothing confirmed: the search's best, {names[best.candidate_id]}, is {best.describe()}; "
        "nothing here is worth a retrain at scale"
    )


def transfer_candidates(archive: Archive, top: int) -> list[CandidateRecord]:
    """The baseline and the `top` best-ranked proposals (seeds aside), best first; none when there
    is no scored baseline to pair them with or no scored proposal."""
    config = archive.run().config
    board = archive.leaderboard()
    baseline = [c for c in board if c.is_seed and c.id == f"seed-{config.racing.baseline}"]
    proposals = [c for c in board if not c.is_seed][:top]
    return baseline + proposals if baseline and proposals else []


def summary(archive: Archive, variants: list[TransferVariant], top: int) -> TransferSummary:
    """The transfer results the archive holds for the run's current top candidates."""
    found = TransferSummary(variants, transfer_candidates(archive, top))
    for record in archive.transfers():
        found.results[(record.variant, record.candidate_id)] = record
    return found


def missing_of(current: TransferSummary) -> list[tuple[TransferVariant, list[CandidateRecord]]]:
    """Each held-out variant with the candidates it lacks results of, the search's own task first
    (a variant without options of its own needs no task built)."""
    return [
        (variant, missing)
        for variant in sorted(current.variants, key=lambda variant: bool(variant.options))
        if (missing := [c for c in current.candidates if (variant.name, c.id) not in current.results])
    ]


def trainings_missing(current: TransferSummary, seeds: int | None, top: int) -> int:
    """How many trainings `run_transfer` with these `seeds` and `top` would start."""
    each = confirmation_seeds(seeds, len(current.variants), top)
    return each * sum(len(missing) for _, missing in missing_of(current))


def run_transfer(
    archive: Archive,
    variants: list[TransferVariant],
    cache_dir: Path,
    executor: Executor,
    top: int,
    seeds: int | None,
    notice=lambda message: None,
) -> TransferSummary:
    """Train what is missing of the transfer (every variant, the baseline and the top proposals,
    `seeds` fresh seeds each, by default `confirmation_seeds`), committing each variant's results
    once its trainings are in; returns the whole summary. The variants' tasks are built under
    `cache_dir`.

    Every variant's trainings go through one batch, so no slot idles at the end of a variant, and
    the variants whose task must be built first (another data seed, a larger model) are built in
    the background while the slots train the others: the search's own task goes first."""
    current = summary(archive, variants, top)
    pending = missing_of(current)
    if not pending:
        return current
    for variant, missing in pending:
        notice(f"transfer: {variant.name} ({variant.description}): {len(missing)} objective(s)")
    lacking = {variant.name: missing for variant, missing in pending}
    joined_of: dict[str, dict[str, JobOutcome]] = {name: {} for name in lacking}  # by candidate id

    def ended(trainings: Trainings, job: CandidateJob, outcome: JobOutcome) -> None:
        """One seed of a candidate on a variant."""
        variant, candidate = trainings.key
        state = "done" if outcome.trainings else "failed"
        notice(f"transfer {variant.name}: {candidate.id} {job.workdir.name} {state}")

    def joined(trainings: Trainings, outcome: JobOutcome) -> None:
        """All seeds of a candidate on a variant; a variant whose candidates are all in is committed."""
        variant, candidate = trainings.key
        outcomes = joined_of[variant.name]
        outcomes[candidate.id] = outcome
        if len(outcomes) == len(lacking[variant.name]):
            _record(archive, current, variant, lacking[variant.name], outcomes)

    def objectives() -> Iterator[Trainings]:
        """Each variant's candidates once its task is there."""
        config = archive.run().config  # read in this thread: the archive's connection belongs to it
        builds = in_background(
            [partial(_variant_settings, config, variant, cache_dir, notice) for variant, _ in pending]
        )
        for (variant, missing), built in zip(pending, builds, strict=True):
            settings = built.result()
            fresh = fresh_seeds(config.seed_list, confirmation_seeds(seeds, len(variants), top))
            for candidate in missing:
                yield _trainings(settings, candidate, variant, fresh, archive.run_dir / TRANSFER_FOLDER)

    train_objectives(executor, objectives(), joined, on_job=ended)
    return current


def _variant_settings(config: RunConfig, variant: TransferVariant, cache_dir: Path, notice) -> JobSettings:
    """The job settings of the run's task changed as the variant says, built first if need be."""
    variant_evaluator = get_evaluator(
        config.evaluator, {**config.evaluator_options, **variant.options}, cache_dir
    )
    phases: list[str] = []

    def progress(phase: str, fraction: float | None) -> None:
        """A line per phase of the build, not per step of it."""
        if phase not in phases[-1:]:
            phases.append(phase)
            notice(f"transfer {variant.name}: {phase}")

    variant_evaluator.prepare(progress)
    return JobSettings.of(variant_evaluator)


def confirmation_seeds(chosen: int | None, variants: int, top: int) -> int:
    """Fresh seeds per held-out variant: those `chosen`, or the fewest with which a confirmation can
    succeed at all. With n pairs in all the sign-flip p-value is never below 2/2**n and Holm's
    correction multiplies the smallest by `top`, so n needs 2**n > 2 x top / ALPHA; one pair more
    leaves room for one seed that goes the other way."""
    if chosen is not None:
        return chosen
    pairs = math.floor(math.log2(2 * max(top, 1) / ALPHA)) + 2
    return math.ceil(pairs / max(variants, 1))


def fresh_seeds(searched: list[int], count: int) -> list[int]:
    """`count` seeds the search never trained with: from one past its largest on."""
    start = max(searched) + 1
    return list(range(start, start + count))


def _trainings(
    settings: JobSettings,
    candidate: CandidateRecord,
    variant: TransferVariant,
    seeds: list[int],
    folder: Path,
) -> Trainings:
    """The candidate's trainings on the variant, on `seeds`, at its search's best beta times the
    variant's factor, in `folder/<variant>/<candidate>/seed<k>`."""
    metrics = candidate.figures
    assert metrics is not None
    beta = None if metrics.best_beta is None else metrics.best_beta * variant.beta_factor
    objective = Objective(name=candidate.name, source=candidate.code, origin=f"archive:{candidate.run_id}")
    return Trainings(
        key=(variant, candidate),
        settings=settings,
        objective=objective,
        points=[TrainingPoint(seed=seed, beta=beta) for seed in seeds],
        folder=folder / variant.name / candidate.id,
    )


def _record(
    archive: Archive,
    current: TransferSummary,
    variant: TransferVariant,
    candidates: list[CandidateRecord],
    outcomes: dict[str, JobOutcome],
) -> None:
    """Summarise each candidate's trainings on the variant, paired with the baseline's, and commit."""
    baseline_id = current.candidates[0].id
    known = current.results.get((variant.name, baseline_id))
    baseline: EvaluationResult | None = known.result if known else None
    if baseline is None and (outcome := outcomes.get(baseline_id)) and outcome.trainings:
        baseline = summarise(current.candidates[0].name, outcome.trainings)
    for candidate in candidates:
        outcome = outcomes.get(candidate.id)
        result = None
        if outcome and outcome.trainings:
            paired_with = None if candidate.id == baseline_id else baseline
            result = summarise(candidate.name, outcome.trainings, baseline=paired_with)
        record = TransferRecord(
            run_id=candidate.run_id,
            variant=variant.name,
            candidate_id=candidate.id,
            name=candidate.name,
            result=result,
            failure=None if result else (outcome.failure if outcome else "not trained"),
        )
        archive.add_transfer(record)
        current.results[(variant.name, candidate.id)] = record
