"""Does a training's figure depend on torch's thread count, and what do threads cost?

Trains and scores DPO (seed 0, one beta) through the confined path twice, with 1 and with 2 torch
threads per job, and prints each one's fitness, KL and seconds. The figures must be identical
(reproducibility does not depend on `--workers` or the core count); the seconds show what
oversubscribed threads cost when the machine is busy.

    python benchmarks/bench_threads.py [--preset default] [--beta 0.3]
"""

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from discovery.execution.batch import run_batch
from discovery.execution.job import JobOutcome, JobSettings
from discovery.execution.local import LocalExecutor
from discovery.objectives import load_objective
from discovery.paths import cache_root, default_runs_dir
from discovery.quiet import quiet_libraries
from discovery.records import SeedResult, TrainingPoint
from evaluators.registry import get_evaluator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--beta", type=float, default=0.3)
    arguments = parser.parse_args()
    quiet_libraries()
    options = {"preset": arguments.preset, "betas": [arguments.beta]}
    evaluator = get_evaluator("sentiment", options, cache_dir=cache_root(default_runs_dir()))
    evaluator.prepare()
    settings = JobSettings.of(evaluator)
    print(f"cores: {len(os.sched_getaffinity(0))}, load average {os.getloadavg()[0]:.1f}")
    for threads in (1, 2):
        training = train_dpo(settings, threads, arguments.beta)
        print(
            f"{threads} thread(s): fitness {training.fitness!r}, KL {training.kl!r}, {training.seconds:.1f} s"
        )


def train_dpo(settings: JobSettings, threads: int, beta: float) -> SeedResult:
    """DPO's seed 0 at `beta`, trained and scored by a worker whose jobs use `threads` threads."""
    outcomes: list[JobOutcome] = []
    with LocalExecutor(slots=1, threads_per_job=threads) as executor, tempfile.TemporaryDirectory() as work:
        job = settings.job(load_objective("dpo"), [TrainingPoint(seed=0, beta=beta)], Path(work) / "dpo")
        run_batch(executor, [job], lambda _, outcome: outcomes.append(outcome))
    return outcomes[0].trainings[0]


if __name__ == "__main__":
    main()
