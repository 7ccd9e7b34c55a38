"""Racing across seeds on a task whose noise is known: a lucky seed crowns nothing, and seeds go
where they can change the ranking."""

from pathlib import Path

import pytest

import tests.noisy_evaluator  # noqa: F401  (registers the "noisy" evaluator)
from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.execution.job import JobSettings
from discovery.execution.local import LocalExecutor
from discovery.loop import DiscoveryLoop, SilentObserver
from discovery.objectives import load_objective
from discovery.proposers.base import Proposal, Proposer
from discovery.provenance import library_versions, new_run_id
from discovery.records import CandidateRecord, RunRecord
from discovery.sandbox import Validator
from discovery.seed_scores import SeedScoreCache
from evaluators.registry import get_evaluator


class ScriptedProposer(Proposer):
    """Proposes the given objectives, one generation each, in order."""

    name = "scripted"

    def __init__(self, proposals: list[Proposal]) -> None:
        self.proposals = list(proposals)

    def propose(self, context, count, check) -> list[Proposal]:
        return [self.proposals.pop(0)]


def run_loop(
    tmp_path: Path, proposals: list[Proposal], seeds: int = 5, **config: object
) -> dict[str, CandidateRecord]:
    """A whole run on the noisy task with the scripted proposals; its candidates by name."""
    settings = RunConfig(
        evaluator="noisy", generations=len(proposals), seed_objectives=["dpo"], seeds=seeds, **config
    )
    evaluator = get_evaluator("noisy", {}, cache_dir=tmp_path / "cache")
    run = RunRecord(id=new_run_id(), config=settings, versions=library_versions(), proposer="scripted")
    with (
        Archive.create(tmp_path / "runs", run) as archive,
        Validator() as validator,
        LocalExecutor() as executor,
    ):
        loop = DiscoveryLoop(
            archive,
            settings,
            ScriptedProposer(proposals),
            evaluator,
            executor,
            JobSettings.of(evaluator),
            validator,
            SeedScoreCache(tmp_path / "cache" / "seed-scores.sqlite", "noisy", lambda line: None),
            SilentObserver(),
        )
        loop.run()
        best = archive.best()
        candidates = {c.name: c for c in archive.candidates()}
    candidates["best of run"] = best
    return candidates


def proposal(name: str, shipped: str) -> Proposal:
    """A valid objective (a shipped one's code) under a name that sets its quality on the noisy task."""
    return Proposal(name=name, thought=name, code=load_objective(shipped).source)


def test_a_lucky_seed_does_not_crown_a_mediocre_candidate(tmp_path):
    steady, lucky = proposal("steady_q0.75", "ipo"), proposal("lucky_q0.55", "slic")
    candidates = run_loop(tmp_path, [steady, lucky])

    def seed_zero(name: str) -> float:
        return next(t.fitness for t in candidates[name].metrics.seeds if t.seed == 0)

    assert seed_zero("lucky_q0.55") > seed_zero("steady_q0.75") + 0.1  # one seed would crown it
    lucky_figures = candidates["lucky_q0.55"].metrics
    assert lucky_figures.n >= 3, "a candidate that looked best must get more seeds"
    assert candidates["best of run"].name == "steady_q0.75"
    assert lucky_figures.fitness < candidates["steady_q0.75"].metrics.fitness


def test_seeds_go_where_they_can_change_the_ranking_and_the_baseline_gets_them_all(tmp_path):
    candidates = run_loop(tmp_path, [proposal("strong_q0.8", "ipo"), proposal("weak_q0.3", "slic")])
    assert [t.seed for t in candidates["dpo"].metrics.seeds] == [0, 1, 2, 3, 4]  # the baseline: all
    strong, weak = candidates["strong_q0.8"].metrics, candidates["weak_q0.3"].metrics
    assert strong.n == 5  # it leads: raced to the cap
    assert weak.n == 1  # its interval is far below the incumbent's: no seed wasted on it
    assert candidates["best of run"].name == "strong_q0.8"
    # paired with the baseline on the seeds both trained
    assert strong.paired.baseline == "dpo" and strong.paired.n == 5
    assert strong.paired.difference == pytest.approx(0.2) and strong.paired.p_value == pytest.approx(2 / 32)
    assert weak.paired.n == 1 and weak.paired.difference == pytest.approx(-0.3)
