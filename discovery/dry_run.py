"""`discover run --dry-run`: what a run would do and cost, without doing it."""

import json

from rich.console import Console
from rich.pretty import Pretty

from discovery.config import RunConfig
from discovery.objectives import shipped_names
from evaluators import get_evaluator


def run_plan(config: RunConfig) -> dict:
    """The run's configuration and the evaluator's own plan for every candidate it will score."""
    evaluator = get_evaluator(config.evaluator, **config.evaluator_options)
    seeds = len(config.seed_objectives or shipped_names())
    candidates = seeds + config.generations * config.population
    plan = {
        "run": config.model_dump(mode="json"),
        "candidates_at_most": {"seeds": seeds, "proposed": config.generations * config.population},
    }
    if hasattr(evaluator, "plan"):  # evaluators that train at scale describe their jobs, offline
        plan["evaluator_plan"] = evaluator.plan(candidates=candidates, seeds=config.seeds)
    else:
        plan["evaluator_config"] = evaluator.config()
    return plan


def print_plan(config: RunConfig, as_json: bool) -> None:
    plan = run_plan(config)
    if as_json:
        print(json.dumps(plan, indent=2))
        return
    console = Console()
    console.print(f"[bold]Plan of a {config.evaluator} run[/bold] (nothing is trained)")
    console.print(Pretty({key: value for key, value in plan.items() if key != "evaluator_plan"}))
    if "evaluator_plan" in plan:
        from evaluators.judging.plan_view import render_plan

        render_plan(plan["evaluator_plan"], console)
