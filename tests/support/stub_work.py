"""Stand-ins for the few calls where a command stops checking its arguments and starts real work
(a discovery run, the sandbox, training, a retrain, the full-screen browser), for tests that throw
many argument lists at the command line in-process.

Everything before these calls runs for real; each stand-in answers like the real thing would for a
valid input, and checks what the real one would check first (a run id exists, the static gate), so
a command that reaches one with arguments it should have refused exits 0 where a test expects 2.
"""

from pathlib import Path

import pytest

# Imported before anything is replaced: a module first imported while `discovery.sandbox.Validator`
# is replaced would bind the stand-in for good, and no undo would restore it.
import discovery.retrain.launch
import discovery.ui.browser
import discovery.ui.curves  # noqa: F401
from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.execution.executor import JobState, JobStatus
from discovery.execution.job import CandidateJob, JobOutcome
from discovery.execution.local import LocalExecutor
from discovery.objectives.gate import check_source
from discovery.records import RunRecord, RunStatus, SeedResult
from discovery.retrain.result import RetrainResult
from discovery.runner import RunOutcome
from discovery.sandbox import CurvesUnavailable, FiguresUnavailable, Verdict
from evaluators.registry import evaluator_classes


class StubValidator:
    """The sandbox: the real static gate, then "valid" without running anything."""

    def __init__(self, timeout_s: float = 5.0, memory_mb: int = 1024) -> None:
        self.timeout_s, self.memory_mb = timeout_s, memory_mb

    def __enter__(self) -> "StubValidator":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        pass

    def validate(self, source: str) -> Verdict:
        violations = "; ".join(map(str, check_source(source)))
        if violations:
            return Verdict(ok=False, stage="static", reason=violations, fingerprint=None, seconds=0.0)
        return Verdict(ok=True, stage=None, reason=None, fingerprint=[0.0], seconds=0.0)

    def curves(self, source: str, beta: float, points: int) -> None:
        raise CurvesUnavailable("no sandbox in this test")

    def comparison(self, source: str) -> list[float]:
        raise FiguresUnavailable("no sandbox in this test")


class StubExecutor:
    """The training workers: every seed of every job submitted (by `discover evaluate`, by the
    transfer's batch) scores 0.5 at once."""

    kind = "local"

    def __init__(self, slots: int = 1, log: Path | None = None) -> None:
        self.slots, self.log = slots, log
        self._submitted = 0

    def __enter__(self) -> "StubExecutor":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def submit(self, job: CandidateJob) -> str:
        self._submitted += 1
        return str(self._submitted)

    def status(self, job_id: str, job: CandidateJob) -> JobStatus:
        trainings = [SeedResult(seed=p.seed, beta=p.beta, fitness=0.5, seconds=0.0) for p in job.points]
        return JobStatus(JobState.FINISHED, outcome=JobOutcome(trainings=trainings))

    def wait(self, seconds: float) -> None:
        pass

    def cancel(self, job_id: str) -> None:
        pass

    def close(self) -> None:
        pass


def _outcome(config: RunConfig, run_id: str = "stub-run") -> RunOutcome:
    run = RunRecord(id=run_id, config=config, versions={}, proposer="builtin", status=RunStatus.FINISHED)
    return RunOutcome(run=run, leaderboard=[])


def _start_run(runs_dir: Path, config: RunConfig, observer: object = None, task: object = None):
    return _outcome(config)


def _resume_run(runs_dir: Path, run_id: str, generations: int | None, observer: object = None):
    with Archive.open(runs_dir, run_id) as archive:  # an unknown run is the user's error, as for real
        return _outcome(archive.run().config, archive.run().id)


def _train_and_record(plan: object, runs_dir: Path) -> tuple[RetrainResult, str]:
    result = RetrainResult(
        output_dir=str(runs_dir / "retrain"),
        train_metrics={},
        eval_metrics={},
        log_history=[],
        seconds=0.0,
        hardware="1 x cpu",
    )
    return result, "stub-retrain"


def _no_real_workers(*args: object, **kwargs: object) -> None:
    raise AssertionError("a stubbed command started the real training workers")


def stub_heavy_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace, for the test's duration, every call that would start real work."""
    monkeypatch.setattr("discovery.runner.start_run", _start_run)
    monkeypatch.setattr("discovery.runner.resume_run", _resume_run)
    for where in ("discovery.sandbox", "discovery.sandbox.validator", "discovery.ui.curves"):
        monkeypatch.setattr(f"{where}.Validator", StubValidator)
    # A path that still reaches the real workers (a name bound before the stand-in) fails loudly.
    monkeypatch.setattr(LocalExecutor, "__init__", _no_real_workers)
    monkeypatch.setattr("discovery.execution.local.LocalExecutor", StubExecutor)
    monkeypatch.setattr("discovery.runner.make_executor", lambda settings, run_dir, *sizing: StubExecutor())
    for cls in evaluator_classes():
        monkeypatch.setattr(cls, "prepare", lambda self, progress=None: None)
    monkeypatch.setattr("discovery.retrain.launch.train_and_record", _train_and_record)
    monkeypatch.setattr("discovery.ui.browser.Browser.run", lambda self: self.archive.close())
