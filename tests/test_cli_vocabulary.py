"""One command-line vocabulary: `--runs-dir` on every command that reads or writes runs, `--set` for
evaluator options, `discover evaluators`, `discover --version`, and dry runs that can be fed back."""

import json
from pathlib import Path

import pytest
import yaml

import tests.support.probe_evaluator  # noqa: F401  (registers the "probe" evaluator for in-process runs)
from discovery import __version__
from evaluators.registry import get_evaluator
from tests.support.archive_factory import build_run
from tests.support.commands import discover_main, discover_subprocess

# Each command reading the runs folder, pointed at a candidate of a run that only that folder holds.
RUNS_DIR_COMMANDS = {
    "run": ["run", "-e", "probe", "--proposer", "builtin", "--seed-objectives", "dpo", "-g", "0", "--json"],
    "evaluate": ["evaluate", "run-a/blend_2", "-e", "probe", "--json"],
    "separation": ["separation", "run-a/blend_2", "-e", "probe", "--seeds", "1", "--json"],
    "retrain": ["retrain", "run-a/blend_2", "--num-gpus", "1", "--dry-run", "--json"],
    "runs": ["runs", "--json"],
    "archive": ["archive", "run-a", "--json"],
    "show": ["show", "run-a/blend_2", "--json"],
    "export": ["export", "run-a/blend_2", "-o", "-"],
    "browse": ["browse", "no-such-run"],
}


@pytest.mark.parametrize("how", ["option", "environment"])
@pytest.mark.parametrize("command", list(RUNS_DIR_COMMANDS))
def test_every_command_reads_and_writes_the_runs_folder_it_is_given(
    command: str, how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    elsewhere = tmp_path / "elsewhere"
    build_run(elsewhere, "run-a", proposals=3)
    monkeypatch.chdir(tmp_path)  # where the default runs/ would be, and is not
    monkeypatch.delenv("DISCOVER_CACHE")  # the cache root follows the runs folder
    args = RUNS_DIR_COMMANDS[command]
    if how == "option":
        args = [*args, "--runs-dir", str(elsewhere)]
    else:
        monkeypatch.setenv("DISCOVER_RUNS_DIR", str(elsewhere))
    code, out, err = discover_main(capsys, *args)

    if command == "browse":
        assert code == 2 and f"no run 'no-such-run' in {elsewhere}" in err
        return
    assert code == 0, err
    assert not (tmp_path / "runs").exists()
    if command == "run":
        assert (elsewhere / json.loads(out)["run_id"]).is_dir()
        assert (elsewhere / "cache" / "seed-scores.sqlite").is_file()
    elif command == "retrain":
        assert json.loads(out)["output_dir"] == str(elsewhere / "retrain" / "blend_2-zephyr-7b-gemma")
    elif command == "export":
        assert "def loss(" in out
    else:
        assert "run-a" in out or "blend_2" in out


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        ("evaluate", ["--beta", "--preset", "--cache-dir"]),
        ("separation", ["--beta", "--preset", "--cache-dir"]),
        ("run", ["--judge-model", "--judge-base-url", "--run-dir"]),
    ],
)
def test_evaluator_options_have_no_convenience_flags(command: str, flags: list[str]) -> None:
    shown = discover_subprocess(command, "--help", env={"COLUMNS": "200"}).stdout
    assert "--set" in shown and "--runs-dir" in shown
    assert not [flag for flag in flags if f"{flag} " in shown]


def test_evaluators_lists_every_option_with_type_default_and_meaning(tmp_path: Path) -> None:
    done = discover_subprocess("evaluators", "--json")
    assert done.returncode == 0, done.stderr
    listed = {entry["name"]: entry for entry in json.loads(done.stdout)["evaluators"]}
    assert {"sentiment", "mtbench", "alpaca"} <= set(listed)
    for name, entry in listed.items():
        assert entry["description"]
        assert all(option["type"] and option["meaning"] for option in entry["options"]), name
        defaults = {option["name"]: option["default"] for option in entry["options"]}
        get_evaluator(name, defaults, cache_dir=tmp_path)  # every listed option is accepted as listed
    sentiment = {option["name"]: option for option in listed["sentiment"]["options"]}
    assert {"preset", "betas", "learning_rate", "epochs", "batch_pairs", "train_pairs"} <= set(sentiment)
    assert sentiment["learning_rate"]["type"] == "float, > 0" and len(sentiment["betas"]["default"]) == 3
    mtbench = {option["name"] for option in listed["mtbench"]["options"]}
    assert {"judge_model", "judge_base_url", "max_steps", "questions", "work_dir"} <= mtbench
    assert "cache_dir" not in mtbench

    table = discover_subprocess("evaluators", env={"COLUMNS": "200"})
    assert table.returncode == 0 and "learning_rate" in table.stdout and "judge_model" in table.stdout
    assert "dict[str, Any]" in table.stdout  # types are printed as text, not read as markup
    one = discover_subprocess("evaluators", "sentiment", "--json")
    assert [entry["name"] for entry in json.loads(one.stdout)["evaluators"]] == ["sentiment"]
    unknown = discover_subprocess("evaluators", "nope")
    assert unknown.returncode == 2 and "unknown evaluator 'nope'" in unknown.stderr


def test_version() -> None:
    done = discover_subprocess("--version")
    assert (done.returncode, done.stdout) == (0, f"discover {__version__}\n")


DRY_RUNS = {
    "sentiment": ["--set", "preset=tiny", "--set", "learning_rate=0.01", "--context-best", "3"],
    "mtbench": ["-e", "mtbench", "--set", "judge_model=gpt-4o", "--set", "recipe_set={beta: 0.1}"],
}


@pytest.fixture
def dry_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """`discover run --dry-run ARGS` in this process, in an empty folder: its stdout."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> str:
        code, out, err = discover_main(capsys, "run", "--dry-run", *args)
        assert code == 0, err
        return out

    return run


@pytest.mark.parametrize("evaluator", list(DRY_RUNS))
def test_a_dry_runs_output_given_back_as_config_plans_the_same_run(
    evaluator: str, dry_run, tmp_path: Path
) -> None:
    args = [*DRY_RUNS[evaluator], "--seed-objectives", "dpo,ipo", "-g", "2"]
    first = dry_run(*args)
    saved = tmp_path / "plan.yaml"
    saved.write_text(first)
    assert dry_run("--config", str(saved)) == first
    fed_back = json.loads(dry_run("--json", "--config", str(saved)))
    assert fed_back == json.loads(dry_run("--json", *args))
    assert fed_back["run"] == yaml.safe_load(first)  # the plan itself is comments


def test_every_setting_a_dry_run_shows_can_be_set(dry_run) -> None:
    shown = json.loads(dry_run("--json"))["evaluator_config"]
    changed = {
        "preset": "tiny",
        **{
            key: [v * 2 for v in value] if isinstance(value, list) else value * 2
            for key, value in shown.items()
            if key != "preset"
        },
    }
    changed["heads"] = 1  # any doubled value is valid, but heads must divide hidden_size
    assignments = [arg for key, value in changed.items() for arg in ("--set", f"{key}={value}")]
    assert json.loads(dry_run("--json", *assignments))["evaluator_config"] == changed


def test_yaml_and_set_merge_in_the_plan(dry_run, tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("evaluator_options: {preset: tiny, learning_rate: 0.5}\ncontext-best: 2\n")
    plan = json.loads(dry_run("--json", "--config", str(config), "--set", "learning_rate=0.3"))
    assert plan["run"]["evaluator_options"] == {"preset": "tiny", "learning_rate": 0.3}
    assert plan["run"]["context_best"] == 2
    assert plan["evaluator_config"]["learning_rate"] == 0.3 and plan["evaluator_config"]["epochs"] == 1
