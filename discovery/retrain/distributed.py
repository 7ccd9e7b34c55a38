"""The accelerate configuration, the DeepSpeed configuration and the launch command of a plan.

Pure functions from plan figures to documents: nothing is written or run here, so a dry run shows
exactly what a real run will launch.
"""

import json
import re
import shlex
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
# What differs between the machines of a multi-node run: the shell fills these in on each one.
MACHINE_RANK = "$MACHINE_RANK"
MAIN_PROCESS_IP = "$MAIN_PROCESS_IP"
MAIN_PROCESS_PORT = "${MAIN_PROCESS_PORT:-29500}"
_SHELL_VARIABLE = re.compile(r"\$[A-Z_]+|\$\{[A-Z_]+:-[0-9]+\}")


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


def accelerate_config(name: str, num_processes: int, deepspeed_file: Path, num_machines: int = 1) -> dict:
    """The shipped accelerate configuration for `num_processes` processes in all (one per GPU) on
    `num_machines` machines, pointing at the DeepSpeed file."""
    text = resources.files(RECIPES_PACKAGE).joinpath(f"{name}{ACCELERATE_SUFFIX}").read_text()
    config: dict[str, Any] = yaml.safe_load(text)
    config["num_processes"] = num_processes
    config["num_machines"] = num_machines
    config["deepspeed_config"] = {
        **config.get("deepspeed_config", {}),
        "deepspeed_config_file": str(deepspeed_file),
    }
    return config


def accelerate_command(output_dir: Path, num_gpus: int, num_machines: int = 1) -> list[str]:
    """`accelerate launch` running the job module on the plan saved in `output_dir`, with `num_gpus`
    processes in all. On several machines the same command runs on each, and the machine's rank and
    the first machine's address are shell variables (`MACHINE_RANK`, `MAIN_PROCESS_IP`)."""
    machines = []
    if num_machines > 1:
        machines = [
            "--num_machines",
            str(num_machines),
            "--machine_rank",
            MACHINE_RANK,
            "--main_process_ip",
            MAIN_PROCESS_IP,
            "--main_process_port",
            MAIN_PROCESS_PORT,
        ]
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(output_dir / ACCELERATE_FILE),
        "--num_processes",
        str(num_gpus),
        *machines,
        "-m",
        JOB_MODULE,
        str(output_dir / PLAN_FILE),
    ]


def shell_line(command: list[str]) -> str:
    """The command as one line to paste into a shell: every word quoted, except the machine's
    variables, which the shell must expand."""
    return " ".join(word if _SHELL_VARIABLE.fullmatch(word) else shlex.quote(word) for word in command)
