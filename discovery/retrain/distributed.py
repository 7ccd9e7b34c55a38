"""The accelerate configuration, the DeepSpeed configuration and the launch command of a plan.

Pure functions from plan figures to documents: nothing is written or run here, so a dry run shows
exactly what a real run will launch.
"""

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from discovery.errors import UserError
from discovery.retrain.recipe import ACCELERATE_SUFFIX, RECIPES_PACKAGE

JOB_MODULE = "discovery.retrain.job"
PLAN_FILE = "plan.json"
ACCELERATE_FILE = "accelerate.yaml"
DEEPSPEED_FILE = "deepspeed.json"


def shipped_accelerate_configs() -> list[str]:
    """Names usable as a recipe's `accelerate_config`."""
    names = (entry.name for entry in resources.files(RECIPES_PACKAGE).iterdir())
    return sorted(name.removesuffix(ACCELERATE_SUFFIX) for name in names if name.endswith(ACCELERATE_SUFFIX))


def deepspeed_config(
    name: str, per_device_batch: int, accumulation: int, num_gpus: int, max_grad_norm: float
) -> dict:
    """The shipped DeepSpeed settings with the plan's batch figures written in.

    The batch figures are explicit rather than "auto" so the plan shows them; transformers checks
    them against the training arguments at start-up and refuses any mismatch. Precision stays
    "auto" so the machine's bf16 support (`hardware_defaults`) decides it.
    """
    template = resources.files(RECIPES_PACKAGE).joinpath(f"{name}.json")
    if not template.is_file():
        known = ", ".join(shipped_accelerate_configs())
        raise UserError(f"unknown accelerate_config '{name}': shipped ones are {known}")
    config: dict[str, Any] = json.loads(template.read_text())
    config["train_micro_batch_size_per_gpu"] = per_device_batch
    config["gradient_accumulation_steps"] = accumulation
    config["train_batch_size"] = per_device_batch * accumulation * num_gpus
    config["gradient_clipping"] = max_grad_norm
    return config


def accelerate_config(name: str, num_gpus: int, deepspeed_file: Path) -> dict:
    """The shipped accelerate configuration for `num_gpus` processes, pointing at the DeepSpeed file."""
    text = resources.files(RECIPES_PACKAGE).joinpath(f"{name}{ACCELERATE_SUFFIX}").read_text()
    config: dict[str, Any] = yaml.safe_load(text)
    config["num_processes"] = num_gpus
    config["deepspeed_config"] = {
        **config.get("deepspeed_config", {}),
        "deepspeed_config_file": str(deepspeed_file),
    }
    return config


def accelerate_command(output_dir: Path, num_gpus: int) -> list[str]:
    """`accelerate launch` running the job module on the plan saved in `output_dir`."""
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(output_dir / ACCELERATE_FILE),
        "--num_processes",
        str(num_gpus),
        "-m",
        JOB_MODULE,
        str(output_dir / PLAN_FILE),
    ]
