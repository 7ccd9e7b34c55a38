"""Assemble a discovery run from its configuration: archive, proposer, evaluator, sandbox, display.

`loop.py` holds the algorithm; this module holds the wiring and the ways a run ends (finished,
interrupted by the user, stopped because the proposer's endpoint died), so that every ending
leaves the archive consistent and says how to resume.
"""

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.errors import UserError
from discovery.loop import DiscoveryLoop, SilentObserver, open_run
from discovery.proposers.base import ProposerUnavailable
from discovery.proposers.registry import make_proposer
from discovery.quiet import quiet_libraries
from discovery.records import CandidateRecord, RunRecord, RunStatus
from discovery.sandbox import Validator
from discovery.seed_scores import SeedScoreCache, evaluator_key
from discovery.ui.live import LiveRunDisplay
from evaluators import get_evaluator
from evaluators.base import EvaluatorUnavailable


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

    def print_leaderboard(self) -> None:
        from discovery.ui.views import leaderboard_table

        rows = list(enumerate(self.leaderboard, start=1))
        title = f"Leaderboard of run {self.run.id} ({self.run.status.value})"
        Console().print(leaderboard_table(rows, title))


def start_run(runs_dir: Path, config: RunConfig, show_progress: bool = True) -> RunOutcome:
    """Create a new run and run it."""
    proposer, notice = make_proposer(config.proposer, config.model, config.base_url, config.random_seed)
    if notice and show_progress:
        Console(stderr=True).print(notice, style="yellow", highlight=False)
    archive = open_run(config, runs_dir, proposer.name)
    return _drive(archive, config, proposer, runs_dir, show_progress)


def resume_run(
    runs_dir: Path, run_id: str, generations: int | None, show_progress: bool = True
) -> RunOutcome:
    """Continue a stopped run from its archive, optionally with a new generation target."""
    archive = Archive.open(runs_dir, run_id)
    if archive.status() is RunStatus.RUNNING:
        archive.close()
        raise UserError(f"run {run_id} is still being written by another live process; stop it first")
    run = archive.run()
    stored = {k: v for k, v in run.config.items() if k != "evaluator_config"}
    config = RunConfig(**{**stored, **({"generations": generations} if generations is not None else {})})
    if config.generations != stored.get("generations"):
        run.config = {**run.config, "generations": config.generations}
        archive.update_run(run)
    proposer, _ = make_proposer(run.proposer, config.model, config.base_url, config.random_seed)
    return _drive(archive, config, proposer, runs_dir, show_progress)


def _drive(archive: Archive, config: RunConfig, proposer, runs_dir: Path, show_progress: bool) -> RunOutcome:
    quiet_libraries()
    evaluator = get_evaluator(config.evaluator, **config.evaluator_options)
    key = evaluator_key(evaluator.name, evaluator.config(), config.training_seeds)
    run = archive.run()
    display = (
        LiveRunDisplay(run.id, proposer.name, evaluator.name, archive.tokens_spent)
        if show_progress
        else SilentObserver()
    )
    stopped_reason = None
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(sys.stderr))  # stdout is for the result alone
        stack.callback(archive.close)
        validator = stack.enter_context(Validator())
        seed_scores = SeedScoreCache(runs_dir / "cache" / "seed-scores.sqlite", key)
        stack.callback(seed_scores.close)
        if isinstance(display, LiveRunDisplay):
            stack.enter_context(display)
        loop = DiscoveryLoop(archive, config, proposer, evaluator, validator, seed_scores, display)
        try:
            run = loop.run()
        except (ProposerUnavailable, EvaluatorUnavailable) as error:
            stopped_reason = f"{error} — the archive is intact; continue with: discover run --resume {run.id}"
            run = _mark_interrupted(archive)
        except KeyboardInterrupt:
            _mark_interrupted(archive)
            Console(stderr=True).print(f"interrupted; continue with: discover run --resume {run.id}")
            raise
        return RunOutcome(run=run, leaderboard=archive.leaderboard(), stopped_reason=stopped_reason)


def _mark_interrupted(archive: Archive) -> RunRecord:
    run = archive.run()
    run.status = RunStatus.INTERRUPTED
    archive.update_run(run)
    return run
