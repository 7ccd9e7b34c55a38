"""Plans as a person reads them: a retrain's resolved plan, and an evaluator's plan of sections.

Both are the dry runs' text form; their JSON form is the plan itself (`Plan.model_dump_json`, the
evaluator's dict)."""

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from discovery.retrain.plan import Plan
from discovery.ui import plain_console
from discovery.untrusted import visible


def print_retrain_plan(plan: Plan, console: Console | None = None) -> None:
    """Objective and verdict, batch arithmetic, steps, every hyperparameter, then the launch files.

    Names, paths and overrides are the user's, a name may be an archived candidate's: they are printed
    as `Text`, never read as markup, and `visible`."""
    console = console or plain_console()
    objective, validation, batch, steps = plan.objective, plan.validation, plan.batch, plan.steps
    verdict = "passed" if validation.ok else f"FAILED at {validation.stage}: {validation.reason}"

    def line(*fields: tuple[str, str]) -> None:
        """`label value` pairs on one line, labels in bold."""
        parts: list[str | tuple[str, str]] = []
        for label, value in fields:
            parts += ["   " if parts else "", (label, "bold"), visible(f" {value}")]
        console.print(Text.assemble(*parts))

    line(("objective", f"{objective.name} (code hash {objective.code_hash}, {objective.origin})"))
    line(("validation", f"{validation.checker}: {verdict}"))
    line(("recipe", plan.recipe_origin + (f", overrides {plan.overrides}" if plan.overrides else "")))
    line(("model", plan.model_name_or_path), ("data", plan.dataset_name))
    line(
        (
            "total batch",
            f"{batch.total} = {batch.per_device} per device x {batch.accumulation} "
            f"accumulation x {batch.num_gpus} GPU(s) ({batch.note})",
        )
    )
    if steps.optimizer_steps is None:
        line(("optimizer steps", steps.rows_source))
    else:
        line(
            (
                "optimizer steps",
                f"{steps.optimizer_steps} ({steps.steps_per_epoch} per epoch over {steps.train_rows} rows, "
                f"from the {steps.rows_source}); warmup {steps.warmup_steps}; evaluations during training "
                f"{steps.evaluations_during_training}, plus one at the end",
            )
        )
    line(("output", str(plan.output_dir)))
    for note in plan.notes:
        line(("note", note))

    table = Table(title="Training arguments (TRL DPOConfig)")
    table.add_column("field")
    table.add_column("value")
    for name, value in sorted(plan.training_arguments.items()):
        table.add_row(Text(name), Text(json.dumps(value)))
    console.print(table)
    line(("DeepSpeed", "(on GPUs; without one, a single plain process runs the same job)"))
    console.print(Syntax(json.dumps(plan.launch.deepspeed_config, indent=2), "json"))


def print_launch(plan: Plan, files: list[Path], console: Console | None = None) -> None:
    """The launch files a dry run wrote and the command that runs them, last, to be copied whole."""
    console = console or plain_console()
    console.print(Text.assemble(("wrote", "bold"), visible(" " + ", ".join(map(str, files)))))
    machines = plan.launch.num_machines
    if machines == 1:
        where = "on the node (the same job runs as one plain process where there is no GPU):"
    else:
        where = (
            f"on each of the {machines} machines, with MACHINE_RANK (0 to {machines - 1}) and "
            "MAIN_PROCESS_IP (the address of machine 0) set, and MAIN_PROCESS_PORT if not 29500:"
        )
    console.print(Text.assemble(("run", "bold"), " " + where))
    console.print(Text(visible(plan.launch.shell)), soft_wrap=True)


def print_sections(plan: dict[str, Any], console: Console) -> None:
    """One table per section; nested mappings become dotted keys, lists are joined."""
    title = plan.get("title", "plan")
    for section, content in plan.items():
        if section == "title":
            continue
        table = Table(
            title=f"{title}: {section}" if section else title, title_justify="left", show_header=False
        )
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        rows = _flatten(content) if isinstance(content, dict) else [("", content)]
        for key, value in rows:
            table.add_row(Text(key), Text(_text(value)))  # Text: "[[rating]]" is not rich markup
        console.print(table)


def _flatten(mapping: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            rows += _flatten(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
