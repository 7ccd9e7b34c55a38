"""Speed of the sentiment evaluator: one candidate, one seed, and our trainer against TRL's own.

Builds (or loads) the task cache, then
1. times one seed of DPO at `--beta`, trained and scored in this process (target <= 60 s on a
   2-core CPU machine; `benchmarks/bench_confinement.py` measures the confined path against this
   one), with the training's system time and page faults;
2. times the training phase alone of `ObjectiveDPOTrainer` with the DPO objective and of plain
   `trl.DPOTrainer` with `loss_type="sigmoid"` (TRL's fused LM head), on the same data, steps and
   model, alternating the two and keeping each one's fastest run (target ratio <= 1.05).
Like a run's job process, it uses one torch thread and keeps freed memory, unless told otherwise.

    python benchmarks/bench_evaluate.py [--preset default] [--beta 0.3] [--repeats 2] [--threads 1]
        [--default-malloc]
"""

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import datasets
import torch
import transformers
from transformers.trainer_callback import PrinterCallback
from trl import DPOTrainer

from discovery.execution.allocator import keep_freed_memory
from discovery.objectives import load_objective
from discovery.paths import cache_root, default_runs_dir
from discovery.progress import no_progress
from evaluators.registry import get_evaluator
from evaluators.sentiment import SentimentEvaluator
from evaluators.sentiment.train import make_trainer, training_args


def time_training(evaluator: SentimentEvaluator, beta: float, builtin: bool) -> float:
    """Seconds of `trainer.train()` for DPO, through our trainer or TRL's built-in sigmoid loss."""
    artefacts = evaluator.artefacts
    with tempfile.TemporaryDirectory() as output:
        if builtin:
            trainer = DPOTrainer(
                model=artefacts.policy(),
                args=training_args(evaluator.train_settings, 0, beta, Path(output), loss_type=["sigmoid"]),
                train_dataset=artefacts.train_dataset(),
                processing_class=artefacts.tokenizer,
            )
            trainer.remove_callback(PrinterCallback)
        else:
            objective = load_objective("dpo").compile()
            policy, data = artefacts.policy(), artefacts.train_dataset()
            trainer = make_trainer(
                policy, artefacts.tokenizer, data, objective, evaluator.train_settings, 0, beta, Path(output)
            )
        started = time.perf_counter()
        trainer.train()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--beta", type=float, default=0.3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--default-malloc", action="store_true", help="leave glibc's malloc as it is")
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    if not options.default_malloc:
        keep_freed_memory()
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()

    cache_dir = cache_root(default_runs_dir())
    evaluator = get_evaluator("sentiment", {"preset": options.preset}, cache_dir=cache_dir)
    started = time.perf_counter()
    evaluator.prepare()
    print(f"cache: {evaluator.artefacts.folder} (ready in {time.perf_counter() - started:.1f} s; "
          f"build took {evaluator.artefacts.manifest['build_seconds']} s when it was built)")  # fmt: skip
    print(f"torch threads: {torch.get_num_threads()}, load average: {os.getloadavg()[0]:.1f}")

    with tempfile.TemporaryDirectory() as folder:
        before = resource.getrusage(resource.RUSAGE_SELF)
        evaluator.train(load_objective("dpo"), 0, options.beta, Path(folder), no_progress)
        trained = resource.getrusage(resource.RUSAGE_SELF)
        result = evaluator.score(Path(folder), 0, no_progress)
    print(f"one candidate, one seed (dpo, beta {options.beta:g}): {result.seconds:.1f} s "
          f"(train {result.train_seconds:.1f} s, score {result.seconds - result.train_seconds:.1f} s), "
          f"fitness {result.fitness!r}, KL {result.kl:.4f}")  # fmt: skip
    print(f"training: {trained.ru_stime - before.ru_stime:.1f} s of system time, "
          f"{trained.ru_minflt - before.ru_minflt:,} page faults")  # fmt: skip

    ours, theirs = [], []
    for _ in range(options.repeats):
        ours.append(time_training(evaluator, options.beta, builtin=False))
        theirs.append(time_training(evaluator, options.beta, builtin=True))
    print(f"training phase, ObjectiveDPOTrainer + dpo objective: {' / '.join(f'{s:.1f}' for s in ours)} s")
    print(f"training phase, trl.DPOTrainer loss_type=sigmoid:    {' / '.join(f'{s:.1f}' for s in theirs)} s")
    print(f"ratio (fastest ours / fastest TRL): {min(ours) / min(theirs):.3f} (target <= 1.05)")


if __name__ == "__main__":
    main()
