"""What confinement costs a candidate on the embedded task, and that it changes no figure.

For DPO, seed 0, on the sentiment task, alternately:
- in process: `train` then `score` in this process, as before candidates were confined;
- confined: the job a run sends to its warm worker (training in a confined process, scoring in a
  trusted one), timed from request to figures; the worker's start, paid once per run, is reported
  apart.
Each side keeps its fastest of `--repeats` runs; the ratio confined / in process is the cost (target
<= 1.10). Both sides use the same number of torch threads and the same allocator settings, so their
fitness must be identical; the KL estimate may differ in its last digits (buffers at other addresses
take other vector kernels).

    python benchmarks/bench_confinement.py [--preset default] [--repeats 3] [--threads 1]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import torch

from discovery.execution.allocator import keep_freed_memory
from discovery.execution.job import JobSettings
from discovery.execution.local import LocalExecutor
from discovery.objectives import load_objective
from discovery.paths import cache_root, default_runs_dir
from discovery.progress import no_progress
from discovery.quiet import quiet_libraries
from discovery.records import SeedResult, TrainingPoint
from evaluators.registry import get_evaluator


def in_process(evaluator, seed: int) -> tuple[float, SeedResult]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        evaluator.train(load_objective("dpo"), seed, evaluator.betas()[0], Path(folder), no_progress)
        result = evaluator.score(Path(folder), seed, no_progress)
    return time.perf_counter() - started, result


def confined(
    executor: LocalExecutor, settings: JobSettings, point: TrainingPoint, work: Path
) -> tuple[float, SeedResult]:
    started = time.perf_counter()
    outcome = executor.evaluate(settings.job(load_objective("dpo"), [point], work))
    assert outcome.trainings is not None, outcome.failure
    return time.perf_counter() - started, outcome.trainings[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=torch.get_num_threads(), help="torch threads of each side (a run: 1)"
    )
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    quiet_libraries()
    keep_freed_memory()  # as a job process does, so that only the confinement differs
    evaluator = get_evaluator(
        "sentiment", {"preset": options.preset}, cache_dir=cache_root(default_runs_dir())
    )
    evaluator.prepare()
    threads = torch.get_num_threads()
    settings = JobSettings.of(evaluator, threads=threads)
    print(f"preset {options.preset}, torch threads {threads}, load average {os.getloadavg()[0]:.1f}")
    here_times, confined_times, fitness, kl = [], [], set(), []
    point = TrainingPoint(seed=0, beta=evaluator.betas()[0])
    with LocalExecutor() as executor, tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        confined(executor, settings, point, Path(work) / "warm-up")  # starts the worker, once per run
        print(f"worker start + first candidate: {time.perf_counter() - started:.1f} s")
        for repeat in range(options.repeats):
            seconds, here = in_process(evaluator, 0)
            here_times.append(seconds)
            seconds, there = confined(executor, settings, point, Path(work) / str(repeat))
            confined_times.append(seconds)
            fitness |= {here.fitness, there.fitness}
            kl += [here.kl, there.kl]
    print(f"in process: {' / '.join(f'{s:.2f}' for s in here_times)} s")
    print(f"confined:   {' / '.join(f'{s:.2f}' for s in confined_times)} s")
    ratio = min(confined_times) / min(here_times)
    print(f"ratio (fastest confined / fastest in process): {ratio:.3f} (target <= 1.10)")
    print(f"fitness identical on both paths: {len(fitness) == 1} {sorted(fitness)}")
    print(f"KL: {min(kl)!r} to {max(kl)!r} (relative spread {(max(kl) - min(kl)) / max(kl):.1e})")


if __name__ == "__main__":
    main()
