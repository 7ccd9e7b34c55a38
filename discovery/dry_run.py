"""`discover run --dry-run`: what a run would do and cost, without doing it.

The text form is YAML: the resolved configuration, which `discover run --config` reads back as it is,
then the plan as comment lines, which YAML ignores. A dry run's output saved to a file and passed
back with `--config` therefore plans the same run (and prints the same text).
"""

import io
import json
from pathlib import Path

import yaml
from rich.console import Console

from discovery.config import RunConfig
from discovery.execution.job import training_limits
from discovery.loop import run_jobs
from discovery.runner import build_task

_PLAN_SUMMARY = ("candidates_at_most", "trainings_per_candidate", "training_deadline", "held_out")


def run_plan(config: RunConfig, runs_dir: Path) -> dict:
    """The run's configuration and the evaluator's own plan for every candidate it will score."""
    task = build_task(config, runs_dir)
    evaluator = task.search
    seeds = len(config.seed_objective_names)
    candidates = seeds + config.generations * config.population
    betas, seed_count = len(evaluator.betas()), len(config.seed_list)
    first = min(config.racing.first_seeds, seed_count)
    deadline = training_limits(run_jobs(config, evaluator), evaluator)
    plan = {
        "run": config.model_dump(mode="json"),
        "training_deadline": deadline.describe(),
        "candidates_at_most": {"seeds": seeds, "proposed": config.generations * config.population},
        "trainings_per_candidate": {
            "first_estimate": first * betas,
            "at_most": seed_count + first * (betas - 1),
            "baseline": seed_count * betas,
        },
    }
    plan["held_out"] = {variant.name: variant.description for variant in task.held_out}
    if task.suite is not None:
        plan["suite"] = task.suite.model_dump()
    if hasattr(evaluator, "plan"):  # evaluators that train at scale describe their jobs, offline
        plan["evaluator_plan"] = evaluator.plan(candidates=candidates, seeds=first)
    else:
        plan["evaluator_config"] = task.configured.config()
    return plan


def plan_text(config: RunConfig, runs_dir: Path, width: int) -> str:
    """The configuration as YAML for `--config`, followed by the plan as comments `width` wide."""
    plan = run_plan(config, runs_dir)
    lines = [
        f"# Plan of a {config.evaluator} run (nothing is trained). The lines without '#' are its",
        "# configuration: save this output to a file to run it with `discover run --config FILE`.",
        _yaml(plan["run"]),
        _commented(_yaml({key: plan[key] for key in _PLAN_SUMMARY})),
    ]
    if "suite" in plan:
        lines.append("# the suite: the search trains on meta_train, the best are confirmed on meta_test")
        lines.append(_commented(_yaml({"suite": plan["suite"]})))
    if "evaluator_config" in plan:
        lines.append(
            f"# {config.evaluator} settings (each can be set: --set KEY=VALUE, or evaluator_options:)"
        )
        lines.append(_commented(_yaml(plan["evaluator_config"])))
    if "evaluator_plan" in plan:
        from discovery.ui.plans import print_sections

        console = Console(file=io.StringIO(), width=width - 2, color_system=None)
        print_sections(plan["evaluator_plan"], console)
        lines.append(_commented(console.file.getvalue()))
    return "\n".join(lines)


def print_run_plan(config: RunConfig, runs_dir: Path, as_json: bool) -> None:
    if as_json:
        print(json.dumps(run_plan(config, runs_dir), indent=2))
    else:
        print(plan_text(config, runs_dir, Console().width))


def _yaml(value: dict) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True).rstrip("\n")


def _commented(text: str) -> str:
    return "\n".join(f"# {line}".rstrip() for line in text.rstrip("\n").splitlines())
