"""`discover retrain --dry-run` on a cluster: the launch files it writes, the command it prints for a
node (or for each of several), and that accelerate reads them as the plan says."""

import json
import shlex
from pathlib import Path

import pytest
import yaml

from discovery.retrain.launch import write_launch_files
from discovery.retrain.plan import Validation, load_plan, make_plan
from discovery.retrain.recipe import load_recipe
from tests.support.commands import discover_cli_runner, discover_subprocess

# What a cluster's job script sets on each machine before pasting the command.
MACHINE = {"$MACHINE_RANK": "1", "$MAIN_PROCESS_IP": "10.0.0.7", "${MAIN_PROCESS_PORT:-29500}": "29500"}


def accelerate_reads(command: str):
    """The settings `accelerate launch` resolves from the command line and its config file, on a
    machine whose variables are `MACHINE` (accelerate's own parsing, without launching anything)."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    for variable, value in MACHINE.items():
        command = command.replace(variable, value)
    words = shlex.split(command)
    start = words.index("accelerate.commands.launch") + 1
    arguments, _, _ = _validate_launch_command(launch_command_parser().parse_args(words[start:]))
    return arguments


def test_the_dry_run_writes_the_launch_files_and_prints_the_command_that_names_them(tmp_path):
    out = tmp_path / "out"
    shown = discover_subprocess(
        "retrain", "discopop", "--dry-run", "--output-dir", str(out), "--runs-dir", str(out)
    )
    assert shown.returncode == 0, shown.stderr

    plan = load_plan(out / "plan.json")
    accelerate = yaml.safe_load((out / "accelerate.yaml").read_text())
    deepspeed = json.loads((out / "deepspeed.json").read_text())
    assert plan.batch.num_gpus == 8 and plan.output_dir == str(out)
    assert accelerate["num_processes"] == 8 and accelerate["num_machines"] == 1
    assert accelerate["deepspeed_config"]["deepspeed_config_file"] == str(out / "deepspeed.json")
    assert deepspeed == plan.launch.deepspeed_config
    assert deepspeed["train_batch_size"] == plan.batch.per_device * plan.batch.accumulation * 8 == 128
    assert deepspeed["gradient_accumulation_steps"] == plan.training_arguments["gradient_accumulation_steps"]

    lines = shown.stdout.strip().splitlines()
    assert lines[-1] == plan.launch.shell and "wrote" in shown.stdout
    launched = accelerate_reads(lines[-1])
    assert launched.config_file == str(out / "accelerate.yaml")
    assert launched.training_script == "discovery.retrain.job" and launched.module
    assert launched.training_script_args == [str(out / "plan.json")]
    assert launched.deepspeed_config_file == str(out / "deepspeed.json")
    assert (launched.num_processes, launched.num_machines, launched.use_deepspeed) == (8, 1, True)


def test_a_plan_for_several_machines_gives_each_the_same_command(tmp_path):
    recipe, origin = load_recipe()
    plan = make_plan(
        "discopop",
        recipe,
        origin,
        overrides={},
        num_gpus=4,
        num_machines=4,
        output_dir=tmp_path,
        validation=Validation(ok=True, checker="sandbox"),
    )
    assert plan.batch.num_gpus == 16 and plan.batch.accumulation == 4 and plan.batch.total == 128
    assert "16 GPUs on 4 machines" in plan.batch.note
    write_launch_files(plan)
    assert "$MACHINE_RANK" in plan.launch.shell and "$MAIN_PROCESS_IP" in plan.launch.shell

    launched = accelerate_reads(plan.launch.shell)
    assert (launched.num_processes, launched.num_machines, launched.machine_rank) == (16, 4, 1)
    assert (launched.main_process_ip, launched.main_process_port) == ("10.0.0.7", 29500)
    assert launched.deepspeed_multinode_launcher == "standard"
    assert yaml.safe_load((tmp_path / "accelerate.yaml").read_text())["num_machines"] == 4


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--num-machines", "0", "--dry-run"], "--num-machines must be at least 1, got 0"),
        (["--save-steps", "0", "--dry-run"], "--save-steps must be at least 1, got 0"),
        (["--num-machines", "2"], "the plan is for 2 machines: add --dry-run"),
        (["--resume", "--dry-run"], "--resume: no complete checkpoint in"),
    ],
)
def test_launch_mistakes_are_one_line(tmp_path: Path, arguments: list[str], message: str):
    result = discover_cli_runner(
        "retrain", "discopop", "--output-dir", str(tmp_path / "out"), "--runs-dir", str(tmp_path), *arguments
    )
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
