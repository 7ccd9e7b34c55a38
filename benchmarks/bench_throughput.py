"""Candidates per hour: the embedded task with one and two workers, and the loop's own bookkeeping.

1. `--workers 1` against `--workers 2` on the sentiment task (built-in proposer, same seeds and
   generations, seed scores cached beforehand, the workers' start included): candidates evaluated
   per hour each way, the torch threads each worker got, and the ratio (target >= 1.6 on 2 cores).
2. The bookkeeping alone: 1,000 proposals through the real loop, archive and duplicate check, with
   a proposer, sandbox and executor that take no time; candidates per second (target >= 50).

    python benchmarks/bench_throughput.py [--preset default] [--generations 8] [--bookkeeping-only]
"""

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.execution.executor import JobState, JobStatus
from discovery.execution.job import CandidateJob, JobOutcome
from discovery.loop import DiscoveryLoop
from discovery.observer import SilentObserver
from discovery.proposers.base import Proposal, Proposer
from discovery.provenance import library_versions, new_run_id
from discovery.records import RunRecord, SeedResult, TrainingPoint
from discovery.runner import start_run
from discovery.sandbox import Verdict
from evaluators.registry import get_evaluator


def task_throughput(preset: str, generations: int, workers: int, cache: Path) -> tuple[float, int, int]:
    """(seconds, candidates evaluated, threads per worker) of one run on the sentiment task."""
    os.environ["DISCOVER_CACHE"] = str(cache)
    with tempfile.TemporaryDirectory() as runs:
        config = RunConfig(
            generations=generations,
            population=workers,
            proposer="builtin",
            evaluator_options={"preset": preset},
            seed_objectives=["dpo"],
            executor={"workers": workers},
            transfer={"top": 0},  # candidates per hour: the end-of-run transfer is not one of them
        )
        started = time.perf_counter()
        outcome = start_run(Path(runs), config)
        seconds = time.perf_counter() - started
        with Archive.open(Path(runs), outcome.run.id) as archive:
            evaluated = sum(c.attempts > 0 for c in archive.candidates())
    threads = max(1, len(os.sched_getaffinity(0)) // workers)
    return seconds, evaluated, threads


class InstantProposer(Proposer):
    """Proposals that differ from each other, written without a model."""

    name = "instant"

    def __init__(self) -> None:
        self.count = 0

    def propose(self, context, count, check) -> list[Proposal]:
        proposals = []
        for _ in range(count):
            self.count += 1
            code = (
                "def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, "
                "reference_rejected_logps, beta):\n"
                f"    return {self.count} * (policy_rejected_logps - policy_chosen_logps)\n"
            )
            check(code)
            proposals.append(Proposal(name=f"p{self.count}", thought="t", code=code))
        return proposals


class InstantSandbox:
    """Verdicts with a fingerprint of their own per source, at once."""

    def validate(self, source: str) -> Verdict:
        value = float(int(hashlib.sha256(source.encode()).hexdigest()[:12], 16))
        return Verdict(ok=True, stage=None, reason=None, fingerprint=[value, -value], seconds=0.0)


class InstantExecutor:
    """Jobs that finish as they are submitted."""

    kind = "instant"

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._results: dict[str, JobOutcome] = {}

    def submit(self, job: CandidateJob) -> str:
        trainings = [SeedResult(seed=p.seed, beta=p.beta, fitness=0.5, seconds=0.0) for p in job.points]
        self._results[str(job.workdir)] = JobOutcome(trainings=trainings)
        return str(job.workdir)

    def status(self, job_id: str, job: CandidateJob) -> JobStatus:
        return JobStatus(JobState.FINISHED, outcome=self._results.pop(job_id))

    def wait(self, seconds: float) -> None:
        pass

    def cancel(self, job_id: str) -> None:
        pass

    def close(self) -> None:
        pass


class NoSeedScores:
    def lookup(self, code_hash: str, point: TrainingPoint) -> None:
        return None

    def store(self, code_hash: str, trainings: list[SeedResult]) -> None:
        pass


def bookkeeping(candidates: int, workers: int) -> float:
    """Candidates per second through the real loop, archive and duplicate check, nothing else."""
    config = RunConfig(generations=candidates // workers, population=workers, seed_objectives=["dpo"])
    with tempfile.TemporaryDirectory() as runs:
        run = RunRecord(id=new_run_id(), config=config, versions=library_versions(), proposer="instant")
        evaluator = get_evaluator("sentiment", {"preset": "tiny"}, cache_dir=Path(runs) / "cache")
        evaluator.prepare = lambda progress=None: None  # the task itself is not what is measured
        with Archive.create(Path(runs), run) as archive:
            loop = DiscoveryLoop(
                archive,
                config,
                InstantProposer(),
                evaluator,
                InstantExecutor(workers),
                InstantSandbox(),
                NoSeedScores(),
                SilentObserver(),
            )
            started = time.perf_counter()
            loop.run()
            seconds = time.perf_counter() - started
            done = len(archive.candidates())
    return done / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--generations", type=int, default=8, help="generations of the task runs")
    parser.add_argument("--bookkeeping-only", action="store_true")
    options = parser.parse_args()
    print(f"cores: {len(os.sched_getaffinity(0))}, load average {os.getloadavg()[0]:.1f}")
    rate = bookkeeping(candidates=1000, workers=8)
    print(f"bookkeeping: {rate:.0f} candidates per second over 1,000 (target >= 50)")
    if options.bookkeeping_only:
        return
    with tempfile.TemporaryDirectory() as cache:
        task_throughput(options.preset, 0, 1, Path(cache))  # builds the task and scores the seed once
        figures = {}
        for workers in (1, 2):
            seconds, evaluated, threads = task_throughput(
                options.preset, options.generations, workers, Path(cache)
            )
            figures[workers] = evaluated / seconds * 3600
            print(
                f"--workers {workers} ({threads} torch thread(s) each): {evaluated} candidates in "
                f"{seconds:.0f} s = {figures[workers]:.0f} per hour"
            )
    print(f"ratio --workers 2 / --workers 1: {figures[2] / figures[1]:.2f} (target >= 1.6)")


if __name__ == "__main__":
    main()
