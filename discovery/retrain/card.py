"""The model card written next to a retrained model: the objective's code, the recipe, the figures.

A reader of the Hub page should be able to rerun the training from the card alone, so it carries
the exact objective source and every recipe field, not a summary of them.
"""

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from discovery.retrain.plan import Plan
    from discovery.retrain.result import RetrainResult

CARD_FILE = "README.md"


def render_card(plan: "Plan", result: "RetrainResult") -> str:
    """Markdown with Hub front matter; figures are those this run measured, nothing reported elsewhere."""
    objective = plan.objective
    front_matter = {
        "base_model": plan.model_name_or_path,
        "datasets": [plan.dataset_name],
        "library_name": "transformers",
        "tags": ["trl", "dpo", "discover", f"objective-{objective.name}"],
    }
    figures = {**{f"train/{k}": v for k, v in result.train_metrics.items()}, **result.eval_metrics}
    figure_rows = "\n".join(f"| {name} | {value:.6g} |" for name, value in sorted(figures.items()))
    batch = plan.batch
    lines = [
        "---",
        yaml.safe_dump(front_matter, sort_keys=False).strip(),
        "---",
        "",
        f"# {Path(plan.output_dir).name}",
        "",
        f"`{plan.model_name_or_path}` trained on `{plan.dataset_name}` with the preference objective "
        f"**{objective.name}** (code hash `{objective.code_hash}`, origin: {objective.origin}), "
        "through TRL's `DPOTrainer` by `discover retrain`.",
        "",
        "## Objective",
        "",
        objective.thought or "(no docstring)",
        "",
        f"Validation before training: {plan.validation.checker}, "
        + (
            "passed."
            if plan.validation.ok
            else f"failed at {plan.validation.stage}: {plan.validation.reason}"
        ),
        "",
        "```python",
        objective.source.rstrip(),
        "```",
        "",
        "## Recipe",
        "",
        f"From {plan.recipe_origin}"
        + (f", with overrides {plan.overrides}" if plan.overrides else "")
        + f". Total batch {batch.total} = {batch.per_device} per device x {batch.accumulation} accumulation "
        f"x {batch.num_gpus} GPU(s); {plan.steps.optimizer_steps} optimizer steps planned.",
        "",
        "```yaml",
        yaml.safe_dump(plan.recipe, sort_keys=False).rstrip(),
        "```",
        "",
        "## Figures",
        "",
        f"Measured in this run: {result.seconds:.0f} s on {result.hardware}.",
        "",
        "| metric | value |",
        "| --- | --- |",
        figure_rows,
        "",
    ]
    return "\n".join(lines)


def write_card(output_dir: Path, plan: "Plan", result: "RetrainResult") -> Path:
    """Write the card as the output folder's README.md (the Hub shows it as the model card)."""
    path = output_dir / CARD_FILE
    path.write_text(render_card(plan, result))
    return path
