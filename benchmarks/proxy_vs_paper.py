"""Does the embedded task rank objectives the way the paper's 7B runs did?

Trains the ten objectives of the paper's held-out AlpacaEval 2.0 table on the sentiment task (every
seed at every beta of the grid, exactly as a run scores a candidate), and prints each one's fitness
at its best beta beside the paper's length-controlled win rate against the SFT model, with the
Spearman rank correlation of the two. The table is a yardstick read from the shipped catalogue, never
an input of the task. Two sanity rows come with it: DPO must beat an untrained policy clearly, and
DPO with its sign flipped (it pushes the chosen answer down) must fall clearly below it.

    python benchmarks/proxy_vs_paper.py [--seeds 3] [--workers 2] [--suite default] [--set KEY=VALUE ...]
    python benchmarks/proxy_vs_paper.py --suite single --sweep   # the documented regimes, one line each

On a suite (`--suite`, the run's default: the evaluator's default suite) each figure is the mean over
its meta-train variants, as a run's search sees it.

The regime a sweep picks becomes the `default` preset of evaluators/sentiment/settings.py; the README
gives the result whatever it is.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from discovery.execution.batch import run_batch
from discovery.execution.job import CandidateJob, JobOutcome, JobSettings
from discovery.execution.local import LocalExecutor
from discovery.fitness import spearman, summarise
from discovery.objectives import Objective, load_objective, shipped_catalog
from discovery.options import parse_options
from discovery.paths import cache_root, default_runs_dir
from discovery.quiet import quiet_libraries
from discovery.records import EvaluationResult, SeedResult, TrainingPoint
from evaluators.suite import run_task

PAPER_FIGURE = "alpaca_lc_vs_sft"
FLIPPED = "flipped_dpo"
# Regimes a sweep tries: learning rate, epochs and a beta grid spanning a decade (see the README).
SWEEP = {
    "lr1e-3 e3 b.1-1": {"learning_rate": 1e-3, "epochs": 3, "betas": [0.1, 0.3, 1.0]},
    "lr3e-4 e3 b.1-1": {"learning_rate": 3e-4, "epochs": 3, "betas": [0.1, 0.3, 1.0]},
    "lr3e-4 e2 b.03-.3": {"learning_rate": 3e-4, "epochs": 2, "betas": [0.03, 0.1, 0.3]},
    "lr1e-4 e3 b.03-.3": {"learning_rate": 1e-4, "epochs": 3, "betas": [0.03, 0.1, 0.3]},
    "lr1e-4 e2 b.01-.1": {"learning_rate": 1e-4, "epochs": 2, "betas": [0.01, 0.03, 0.1]},
}


def yardstick() -> dict[str, float]:
    """The paper's AlpacaEval LC win rate against SFT, for the objectives that report one."""
    return {
        name: entry["reported"][PAPER_FIGURE]
        for name, entry in shipped_catalog().items()
        if PAPER_FIGURE in entry.get("reported", {})
    }


def flipped_dpo() -> Objective:
    """DPO pushing the wrong way: the chosen answer down, the rejected one up."""
    dpo = load_objective("dpo")
    source = dpo.source.replace("-F.logsigmoid(beta * rho)", "-F.logsigmoid(-beta * rho)")
    assert source != dpo.source, "the shipped DPO changed: update the flip"
    return Objective(name=FLIPPED, source=source, origin="benchmark")


def train_all(
    objectives: list[Objective], options: dict, suite: str, seeds: int, workers: int
) -> dict[str, list[SeedResult] | str]:
    """Every objective trained at every (seed, beta), `workers` at once: trainings, or the failure."""
    evaluator = run_task("sentiment", options, suite, cache_dir=cache_root(default_runs_dir())).search
    evaluator.prepare()
    points = [TrainingPoint(seed=seed, beta=beta) for beta in evaluator.betas() for seed in range(seeds)]
    settings = JobSettings.of(evaluator)
    done: dict[str, list[SeedResult] | str] = {}

    def keep(job: CandidateJob, outcome: JobOutcome) -> None:
        done[job.objective.name] = outcome.trainings or outcome.failure or "failed"

    with LocalExecutor(slots=workers) as executor, tempfile.TemporaryDirectory() as work:
        jobs = [settings.job(objective, points, Path(work) / objective.name) for objective in objectives]
        run_batch(executor, jobs, keep)
    return done


def measure(options: dict, suite: str, seeds: int, workers: int) -> dict:
    """Figures of one regime: per objective, the sanity rows, the rank correlation, the time."""
    paper = yardstick()
    objectives = [load_objective(name) for name in paper] + [flipped_dpo()]
    started = time.perf_counter()
    trained = train_all(objectives, options, suite, seeds, workers)
    seconds = time.perf_counter() - started
    baseline = summarise("dpo", trained["dpo"]) if isinstance(trained["dpo"], list) else None
    results: dict[str, EvaluationResult | str] = {
        name: summarise(name, runs, baseline=None if name == "dpo" else baseline)
        if isinstance(runs, list)
        else runs
        for name, runs in trained.items()
    }
    unchanged = next(
        (t.unchanged_fitness for runs in trained.values() if isinstance(runs, list) for t in runs),
        None,
    )
    scored = [name for name in paper if isinstance(results[name], EvaluationResult)]
    rho = (
        spearman([results[n].fitness for n in scored], [paper[n] for n in scored])
        if len(scored) > 2
        else None
    )
    return {
        "results": results,
        "paper": paper,
        "unchanged": unchanged,
        "spearman": rho,
        "seconds": seconds,
    }


def print_regime(figures: dict) -> None:
    results, paper = figures["results"], figures["paper"]
    print(f"{'objective':<12} {'fitness':>8} {'interval':>15} {'beta':>5} {'collapsed':>9} {'vs dpo':>8} "
          f"{'paper LC':>8}")  # fmt: skip
    order = sorted(paper, key=lambda name: -paper[name])
    for name in [*order, FLIPPED]:
        result = results[name]
        if not isinstance(result, EvaluationResult):
            print(f"{name:<12} failed: {result}")
            continue
        interval = "" if result.fitness_low is None else f"{result.fitness_low:.3f}-{result.fitness_high:.3f}"
        versus = "" if result.paired is None else f"{result.paired.difference:+.3f}"
        print(
            f"{name:<12} {result.fitness:>8.3f} {interval:>15} {result.best_beta:>5g} "
            f"{result.collapse_rate:>9.0%} {versus:>8} {paper.get(name, float('nan')):>8.2f}"
        )
    print(f"untrained policy: {figures['unchanged']:.3f}")
    rho = figures["spearman"]
    print(f"Spearman rank correlation with the paper: {'n/a' if rho is None else f'{rho:+.2f}'}")
    print(f"time: {figures['seconds']:.0f} s")


def summary_line(label: str, figures: dict) -> str:
    results = figures["results"]

    def fitness(name: str) -> float:
        result = results[name]
        return result.fitness if isinstance(result, EvaluationResult) else float("nan")

    collapses = [r.collapse_rate for r in results.values() if isinstance(r, EvaluationResult)]
    rho = figures["spearman"]
    return (
        f"{label:<20} spearman {'n/a' if rho is None else f'{rho:+.2f}':>6}  dpo {fitness('dpo'):.3f}  "
        f"untrained {figures['unchanged']:.3f}  flipped {fitness(FLIPPED):.3f}  "
        f"collapsed {statistics.fmean(collapses):.0%}  {figures['seconds']:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--set", dest="options", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--suite", default="default", help="a suite name, default, or single (the task alone)"
    )
    parser.add_argument("--sweep", action="store_true", help="every regime of the documented sweep")
    arguments = parser.parse_args()
    quiet_libraries()
    options = parse_options(arguments.options)
    cores, load = len(os.sched_getaffinity(0)), os.getloadavg()[0]
    print(f"cores: {cores}, load average {load:.1f}, seeds {arguments.seeds}")
    if not arguments.sweep:
        print_regime(measure(options, arguments.suite, arguments.seeds, arguments.workers))
        return
    lines = []
    for label, regime in SWEEP.items():
        figures = measure({**options, **regime}, arguments.suite, arguments.seeds, arguments.workers)
        print(f"\n## {label}")
        print_regime(figures)
        lines.append(summary_line(label, figures))
        print(lines[-1], flush=True)
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
