"""`discover retrain`: train a real model with any objective, on the paper's full recipe."""

import json
from pathlib import Path

import typer

from discovery.cli import app
from discovery.cli.common import RUNS_DIR, folder


@app.command("retrain")
def retrain_command(
    objective: str = typer.Argument(
        ...,
        help="Shipped objective name (see `discover objectives`), a .py file defining `loss`, or an "
        "archived candidate as RUN/CANDIDATE.",
    ),
    recipe: str = typer.Option(
        "zephyr-7b-gemma", "--recipe", help="Shipped recipe name or a YAML file in TRL's field names."
    ),
    num_gpus: int | None = typer.Option(
        None,
        "--num-gpus",
        help="GPUs (processes) per machine; 1 on a machine without a GPU. Gradient accumulation changes "
        "to keep the recipe's total batch. Default: the recipe's.",
    ),
    num_machines: int = typer.Option(
        1,
        "--num-machines",
        help="Machines to train on, --num-gpus each. With more than one, --dry-run writes the launch files "
        "and prints the command to run on each machine (with MACHINE_RANK and MAIN_PROCESS_IP set).",
    ),
    save_steps: int | None = typer.Option(
        None,
        "--save-steps",
        help="Write a checkpoint every N optimizer steps into the output folder (the newest is kept), so "
        "that --resume can continue an interrupted run.",
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue from the newest complete checkpoint in the output folder; the objective, recipe and "
        "options must be those it was written with (the length of the run may change).",
    ),
    model: str | None = typer.Option(
        None, "--model", help="Policy and reference model: hub name or local folder. Default: the recipe's."
    ),
    dataset: str | None = typer.Option(
        None, "--dataset", help="Preference dataset: hub name or local copy. Default: the recipe's."
    ),
    output_dir: Path | None = typer.Option(
        None,
        "--output-dir",
        callback=folder,
        help="Where the model, tokenizer and card go. Default: RUNS_DIR/retrain/OBJECTIVE-RECIPE.",
    ),
    runs_dir: Path = RUNS_DIR,
    assignments: list[str] = typer.Option(
        [], "--set", help="Recipe field as key=value (any DPOConfig field), e.g. --set beta=0.1. Repeatable."
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Print the resolved plan (hyperparameters, batch, steps, launch), write its launch files "
        "(plan.json, accelerate.yaml, deepspeed.json) into the output folder, print the command that "
        "launches it, and stop.",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the plan (or the result) as one JSON document."
    ),
) -> None:
    """Retrain a model with OBJECTIVE through TRL + accelerate + DeepSpeed ZeRO-3, as in the DiscoPOP paper.

    The objective is validated first; the model, tokenizer and a model card (objective code, recipe,
    figures) are written to the output folder, and the run is recorded in the archive of the runs folder.
    On a cluster, --dry-run writes the launch files and prints the command for a node (or each node).
    """
    from discovery.options import parse_options
    from discovery.retrain.launch import write_launch_files
    from discovery.retrain.plan import make_plan
    from discovery.retrain.recipe import load_recipe

    overrides = parse_options(assignments)
    loaded, origin = load_recipe(recipe, overrides)
    plan = make_plan(
        objective,
        loaded,
        recipe_origin=origin,
        overrides=overrides,
        num_gpus=num_gpus,
        model=model,
        dataset=dataset,
        output_dir=output_dir,
        runs_dir=runs_dir,
        num_machines=num_machines,
        save_steps=save_steps,
        resume=resume,
    )
    if dry_run:
        files = write_launch_files(plan)
        if as_json:
            typer.echo(plan.model_dump_json(indent=2))
        else:
            from discovery.ui.plans import print_launch, print_retrain_plan

            print_retrain_plan(plan)
            print_launch(plan, files)
        return

    from discovery.retrain.launch import train_and_record

    result, run_id = train_and_record(plan, runs_dir)
    if as_json:
        typer.echo(json.dumps({"run_id": run_id, **result.model_dump(mode="json")}, indent=2))
    else:
        typer.echo(f"model, tokenizer and card in {result.output_dir}; recorded as run {run_id}")
