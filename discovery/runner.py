"""Assemble a discovery run from its configuration: archive, proposer, evaluator, sandbox.

`loop.py` holds the algorithm; this module builds each part once and handles the ways a run ends
(finished, interrupted by the user, stopped because a service it needs died), so that every ending
leaves the archive consistent and says how to resume. The caller hands in the observer that shows
progress (the live display, or nothing).
"""

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.errors import ServiceUnavailable, UserError
from discovery.execution.job import JobSettings, available_cores
from discovery.execution.local import LocalExecutor
from discovery.loop import DiscoveryLoop, LoopObserver, SilentObserver
from discovery.paths import cache_root
from discovery.proposers.base import Proposer
from discovery.proposers.registry import make_proposer
from discovery.provenance import library_versions, new_run_id
from discovery.quiet import quiet_libraries
from discovery.records import CandidateRecord, RunRecord, RunStatus
from discovery.sandbox import Validator
from discovery.seed_scores import SeedScoreCache, evaluator_key
from evaluators import Evaluator, get_evaluator

SEED_SCORES_FILE = "seed-scores.sqlite"
WORKER_LOG = "worker.log"  # the evaluation worker's own output: library warnings, tracebacks


class RunInterrupted(KeyboardInterrupt):
    """The user stopped the run (Ctrl-C); the archive says `interrupted` and `run_id` resumes it."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


@dataclass
class RunOutcome:
    """How a run ended and its leaderboard."""

    run: RunRecord
    leaderboard: list[CandidateRecord]
    stopped_reason: str | None = None

    def to_json(self) -> dict:
        return {
            "run_id": self.run.id,
            "status": self.run.status.value,
            "generations_done": self.run.generations_done,
            "stopped_reason": self.stopped_reason,
            "leaderboard": [
                {
                    "rank": rank,
                    "id": c.id,
                    "name": c.name,
                    "generation": c.generation,
                    "is_seed": c.is_seed,
                    "parents": c.parents,
                    **c.metrics.model_dump(exclude={"objective", "seeds"}),
                }
                for rank, c in enumerate(self.leaderboard, start=1)
            ],
        }


def build_evaluator(config: RunConfig, runs_dir: Path) -> Evaluator:
    """The run's evaluator, caching under the runs folder's cache root (`discovery.paths.cache_root`)."""
    return get_evaluator(config.evaluator, config.evaluator_options, cache_dir=cache_root(runs_dir))


def start_run(
    runs_dir: Path,
    config: RunConfig,
    observer: LoopObserver | None = None,
    evaluator: Evaluator | None = None,
) -> RunOutcome:
    """Create a new run and run it to the end; `evaluator` is the config's, when the caller built it
    already (to check its options before showing anything)."""
    evaluator = evaluator or build_evaluator(config, runs_dir)
    proposer, notice = make_proposer(config)
    observer = observer or SilentObserver()
    if notice:
        observer.notice(notice)
    run = RunRecord(
        id=new_run_id(),
        config=config,
        evaluator_config=evaluator.config(),
        versions=library_versions(),
        proposer=proposer.name,
    )
    archive = Archive.create(runs_dir, run)
    return _run_to_end(archive, proposer, evaluator, runs_dir, observer)


def resume_run(
    runs_dir: Path, run_id: str, generations: int | None, observer: LoopObserver | None = None
) -> RunOutcome:
    """Continue a stopped run from its archive, optionally with a new generation target."""
    archive = Archive.open(runs_dir, run_id)
    if archive.status() is RunStatus.RUNNING:
        archive.close()
        raise UserError(f"run {run_id} is still being written by another live process; stop it first")
    run = archive.run()
    if generations is not None and generations != run.config.generations:
        run.config = run.config.model_copy(update={"generations": generations})
        archive.update_run(run)
    config = run.config
    proposer, _ = make_proposer(config.model_copy(update={"proposer": run.proposer}))
    evaluator = build_evaluator(config, runs_dir)
    return _run_to_end(archive, proposer, evaluator, runs_dir, observer or SilentObserver())


def _run_to_end(
    archive: Archive, proposer: Proposer, evaluator: Evaluator, runs_dir: Path, observer: LoopObserver
) -> RunOutcome:
    quiet_libraries()
    run = archive.run()
    key = evaluator_key(evaluator.name, evaluator.version, evaluator.config(), run.config.training_seeds)
    stopped_reason = None
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(sys.stderr))  # stdout is for the result alone
        stack.callback(archive.close)
        validator = stack.enter_context(Validator())
        seed_scores = SeedScoreCache(cache_root(runs_dir) / SEED_SCORES_FILE, key)
        stack.callback(seed_scores.close)
        executor = stack.enter_context(LocalExecutor(log=archive.run_dir / WORKER_LOG))
        jobs = JobSettings.of(evaluator, threads=available_cores())
        loop = DiscoveryLoop(
            archive, run.config, proposer, evaluator, executor, jobs, validator, seed_scores, observer
        )
        try:
            run = loop.run()
        except ServiceUnavailable as error:
            stopped_reason = f"{error} — the archive is intact; continue with: discover run --resume {run.id}"
            run = _mark_interrupted(archive)
        except UserError:
            _mark_interrupted(archive)
            raise
        except KeyboardInterrupt as interrupt:
            _mark_interrupted(archive)
            raise RunInterrupted(run.id) from interrupt
        return RunOutcome(run=run, leaderboard=archive.leaderboard(), stopped_reason=stopped_reason)


def _mark_interrupted(archive: Archive) -> RunRecord:
    run = archive.run()
    run.status = RunStatus.INTERRUPTED
    archive.update_run(run)
    return run
