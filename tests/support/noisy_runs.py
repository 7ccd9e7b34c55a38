"""Whole runs on the noisy task (`noisy_evaluator`), whose noise is known, with scripted proposals:
what racing, the best-so-far line, beta rescaling and transfer are tested on."""

from pathlib import Path

import tests.support.noisy_evaluator  # noqa: F401  (registers the "noisy" evaluator)
from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.execution.local import LocalExecutor
from discovery.loop import DiscoveryLoop
from discovery.objectives import load_objective
from discovery.observer import LoopObserver, SilentObserver
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
    tmp_path: Path,
    proposals: list[Proposal],
    seeds: int = 5,
    observer: LoopObserver | None = None,
    evaluator_name: str = "noisy",
    **config: object,
) -> dict[str, CandidateRecord]:
    """A whole run on the noisy task (or `evaluator_name`, another of `noisy_evaluator`'s) with the
    scripted proposals, followed by `observer`; its candidates by name."""
    settings = RunConfig(
        evaluator=evaluator_name, generations=len(proposals), seed_objectives=["dpo"], seeds=seeds, **config
    )
    evaluator = get_evaluator(evaluator_name, {}, cache_dir=tmp_path / "cache")
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
            validator,
            SeedScoreCache(tmp_path / "cache" / "seed-scores.sqlite", evaluator_name, lambda line: None),
            observer or SilentObserver(),
        )
        loop.run()
        best = archive.best()
        candidates = {c.name: c for c in archive.candidates()}
    candidates["best of run"] = best
    return candidates


def proposal(name: str, shipped: str) -> Proposal:
    """A valid objective (a shipped one's code) under a name that sets its quality on the noisy task."""
    return Proposal(name=name, thought=name, code=load_objective(shipped).source)
