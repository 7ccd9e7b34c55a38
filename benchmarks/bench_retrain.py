"""Training speed of `discover retrain`'s job: tokens per second and peak memory, in one process.

Runs the same trainer the job builds (TRL DPOTrainer + the objective + prompt truncation +
precomputed reference log-probs) for a few optimizer steps. With no --model / --dataset it builds
the tiny chat model and dpo-mix-7k-schema data of the tests (CPU figures, a smoke test of speed);
on a GPU point it at a real model and a local copy of argilla/dpo-mix-7k, e.g.

    python benchmarks/bench_retrain.py --model ./zephyr-7b-gemma-sft-v0.1 --dataset ./dpo-mix-7k --steps 5

Tokens are non-padding tokens of the pairs trained on (prompt counted once per sequence, as the
model sees it); reference log-prob precomputation is timed apart.
"""

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objective", default="discopop")
    parser.add_argument(
        "--recipe", default=None, help="recipe name or file [default: tiny recipe of the tests]"
    )
    parser.add_argument("--model", default=None)
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps to time")
    parser.add_argument("--set", dest="assignments", action="append", default=[], help="recipe key=value")
    args = parser.parse_args()

    import torch

    from discovery.options import parse_options
    from discovery.retrain.job import build_trainer
    from discovery.retrain.plan import make_plan
    from discovery.retrain.recipe import load_recipe
    from tests.fixtures.tiny_chat import build_all, write_recipe

    with tempfile.TemporaryDirectory() as folder:
        recipe_spec = args.recipe
        if recipe_spec is None:
            model_dir, data_dir = build_all(Path(folder))
            recipe_spec = str(write_recipe(Path(folder) / "tiny.yaml", model_dir, data_dir))
        overrides = parse_options([*args.assignments, f"max_steps={args.steps}", "eval_strategy=no"])
        recipe, origin = load_recipe(recipe_spec, overrides)
        plan = make_plan(
            args.objective,
            recipe,
            origin,
            overrides,
            num_gpus=1,
            model=args.model,
            dataset=args.dataset,
            output_dir=str(Path(folder) / "out"),
        )
        start = time.perf_counter()
        trainer, _ = build_trainer(plan)
        setup = time.perf_counter() - start
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start

    rows = trainer.train_dataset
    pair_tokens = [
        2 * len(p) + len(c) + len(r) for p, c, r in zip(*(rows[k] for k in _ID_COLUMNS), strict=True)
    ]
    pairs = trainer.state.global_step * plan.batch.per_device * plan.batch.accumulation
    tokens = pairs * sum(pair_tokens) / len(pair_tokens)
    if torch.cuda.is_available():
        device, peak = torch.cuda.get_device_name(), torch.cuda.max_memory_allocated() / 2**30
        memory = f"peak GPU memory allocated {peak:.2f} GiB"
    else:
        device = "cpu"
        memory = f"peak process RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
    print(f"device                 {device}, dtype {next(trainer.model.parameters()).dtype}")
    print(f"model / data           {plan.model_name_or_path} / {plan.dataset_name}")
    print(f"setup (load, tokenize, reference log-probs) {setup:.1f} s")
    print(f"optimizer steps        {trainer.state.global_step} ({pairs} pairs)")
    print(f"train time             {seconds:.2f} s")
    print(f"tokens / s             {tokens / seconds:,.0f}")
    print(memory)


_ID_COLUMNS = ("prompt_ids", "chosen_ids", "rejected_ids")


if __name__ == "__main__":
    main()
