"""`discover run`'s options are made from `RunConfig`: each field is an option, declared once, with
the field's description and default as its help; a section's fields by their dotted path."""

import json
from pathlib import Path

import pytest
import typer
from pydantic import BaseModel, Field
from typer.main import get_command
from typer.testing import CliRunner

from discovery.cli import app, load_commands
from discovery.cli.flags import ConfigFlags, Flag, Typed
from discovery.cli.run import DECLARED
from discovery.config import ExecutorSettings, RacingSettings, RunConfig
from tests.support.commands import discover_cli_runner


def test_every_field_of_a_run_is_an_option_of_discover_run_and_no_option_is_declared_twice() -> None:
    load_commands()
    options = [
        param for param in get_command(app).commands["run"].params if param.param_type_name == "option"
    ]
    names = [name for option in options for name in option.opts]
    assert len(names) == len(set(names))
    helps = {option.opts[0]: option.help or "" for option in options}
    for name, info in RunConfig.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            continue  # a section: the fields the command line offers are checked below
        flag = "--set" if name == "evaluator_options" else f"--{name.replace('_', '-')}"
        assert flag in helps, name
        assert flag == "--set" or helps[flag].lower().startswith(info.description.lower()), name
    nested = {
        "--first-seeds": RacingSettings.model_fields["first_seeds"],
        "--executor": ExecutorSettings.model_fields["kind"],
        "--workers": ExecutorSettings.model_fields["workers"],
    }
    assert all(helps[flag].lower().startswith(info.description.lower()) for flag, info in nested.items())


class Wider(RunConfig):
    """The run's configuration with a field it may have one day."""

    warmup_steps: int = Field(7, ge=0, description="steps before the learning rate is full")


def test_a_field_added_to_the_configuration_is_an_option_with_its_help_and_default() -> None:
    flags = ConfigFlags(Wider, *DECLARED)  # as `discover run` declares its options
    seen: list[tuple[dict, bool]] = []
    command = typer.Typer()

    @command.command()
    @flags.command
    def start(typed: Typed, dry: bool = typer.Option(False, "--dry")) -> None:
        seen.append((typed.overrides(), dry))

    helps = {param.opts[0]: param.help for param in get_command(command).params}
    assert helps["--warmup-steps"] == "Steps before the learning rate is full. [default: 7]"
    runner = CliRunner()
    done = runner.invoke(command, ["--warmup-steps", "3", "--first-seeds", "2", "-e", "probe", "--dry"])
    assert done.exit_code == 0, done.output
    assert seen == [({"evaluator": "probe", "racing": {"first_seeds": 2}, "warmup_steps": 3}, True)]
    assert runner.invoke(command, ["--warmup-steps", "many"]).exit_code == 2  # read as a number
    with pytest.raises(ValueError, match="no field first_seed"):
        ConfigFlags(Wider, *DECLARED, Flag("racing.first_seed"))
    with pytest.raises(ValueError, match="--workers would set two fields"):
        ConfigFlags(Wider, *DECLARED, Flag("transfer.seeds", name="--workers"))


def test_a_sections_options_set_its_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["--first-seeds", "2", "--executor", "local", "--workers", "3", "--time-limit", "90m"]
    done = discover_cli_runner("run", "--dry-run", "--json", *args)
    assert done.exit_code == 0, done.output
    run = json.loads(done.stdout)["run"]
    assert (run["racing"]["first_seeds"], run["racing"]["best_needs"]) == (2, 3)  # the others keep theirs
    assert (run["executor"]["kind"], run["executor"]["workers"], run["time_limit"]) == ("local", 3, 5400)
