"""Bad input on the command line is one plain line on stderr and exit code 2, on every command, and
is refused before anything is created: never a traceback, never a half-made run.

The cases are the fuzzed invocations that used to end in a traceback or the wrong message, and
more of their kind. They run in-process (`CliRunner`) with the work after the argument checks
stubbed out (`tests.support.stub_work`); a few run as a real subprocess.
"""

import os
from pathlib import Path

import pytest
from typer.testing import Result

from discovery.archive import Archive
from discovery.user_files import MAX_BYTES
from tests.support.archive_factory import build_run
from tests.support.commands import discover_cli_runner, discover_subprocess
from tests.support.stub_work import stub_heavy_work

RUN = "run-a"  # the one run in the runs folder of these tests


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder holding files of every awkward kind, a runs folder with one run,
    and the heavy work stubbed out."""
    build_run(tmp_path / "runs", RUN, proposals=2)
    (tmp_path / "binary.yaml").write_bytes(b"\x00\xff\xfe binary")
    (tmp_path / "binary.py").write_bytes(b"\xff\xfe\x00 not utf-8")
    (tmp_path / "huge.py").write_bytes(b"#" * (MAX_BYTES + 1))
    (tmp_path / "int_keys.yaml").write_text("1: 2\n")
    (tmp_path / "int_option_keys.yaml").write_text("evaluator_options: {1: 2}\n")
    (tmp_path / "deep.yaml").write_text("generations: " + "[" * 5000 + "\n")
    (tmp_path / "aliases.yaml").write_text("a: &x [1, 2]\nb: *x\n")
    (tmp_path / "seed.py").write_text('"""A file, not a shipped objective."""\n')
    (tmp_path / "notes.txt").write_text("a file where a folder is expected\n")
    (tmp_path / "folder.py").mkdir()
    os.mkfifo(tmp_path / "fifo.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCOVER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("DISCOVER_CACHE", str(tmp_path / "cache"))
    stub_heavy_work(monkeypatch)
    return tmp_path


NESTED = "[" * 3000
BAD_INPUT = {
    # --set and evaluator options
    "set-not-a-number": (
        ["run", "--set", "learning_rate=abc"],
        "the sentiment evaluator's option learning_rate: Input should",
    ),
    "set-a-list": (["run", "--set", "preset=[1,2]"], "option preset: Input should be 'default' or 'tiny'"),
    "set-unknown-key": (["run", "--set", "cache_dir=5"], "the sentiment evaluator has no option cache_dir"),
    "set-seed": (
        ["evaluate", "dpo", "--set", "seed=3"],
        "training seeds are chosen with --seeds, e.g. --seeds 3,7",
    ),
    "set-infinite": (
        ["run", "--set", "learning_rate=inf"],
        "option learning_rate: must be a finite number, got inf",
    ),
    "set-nan-nested": (
        ["run", "-e", "mtbench", "--set", "recipe_set={beta: .nan}", "--dry-run"],
        "option recipe_set.beta: must be a finite number, got nan",
    ),
    "set-unclosed-markup": (
        ["run", "--set", "beta=[unclosed"],
        "bad --set 'beta=[unclosed': the value is not valid YAML (expected ',' or ']'",
    ),
    "set-nested-too-deep": (["run", "--set", f"beta={NESTED}"], "not valid YAML (it is nested too deeply)"),
    "set-alias": (["run", "--set", "beta=*a"], "aliases (*name) are not accepted"),
    "set-no-key": (["evaluate", "dpo", "--set", "=3"], "bad --set '=3': write key=value"),
    # --config files
    "config-binary": (["run", "--config", "binary.yaml"], "cannot read config binary.yaml: it is not UTF-8"),
    "config-int-key": (["run", "--config", "int_keys.yaml"], "1 is not an option of discover run"),
    "config-int-option-key": (["run", "--config", "int_option_keys.yaml"], "invalid evaluator_options.1"),
    "config-dev-null": (["run", "--config", "/dev/null"], "config /dev/null: it is not a regular file"),
    "config-folder": (["run", "--config", "folder.py"], "cannot read config folder.py: it is a folder"),
    "config-missing": (["run", "--config", "nope.yaml"], "nope.yaml: No such file or directory"),
    "config-deep": (["run", "--config", "deep.yaml"], "config deep.yaml is not valid YAML: it is nested"),
    "config-aliases": (["run", "--config", "aliases.yaml"], "aliases (*name) are not accepted"),
    # what a run needs, checked before it is created
    "seed-file": (["run", "--seed-objectives", "seed.py"], "seed.py: seeds are shipped objectives"),
    "seed-unknown": (["run", "--seed-objectives", "nope"], "nope: seeds are shipped objectives (dpo"),
    "seed-twice": (["run", "--seed-objectives", "dpo,slic,dpo"], "dpo named more than once"),
    "seed-alias-twice": (["run", "--seed-objectives", "DPO,sigmoid"], "dpo named more than once"),
    "seed-none": (["run", "--seed-objectives", ","], "name at least one shipped objective"),
    "generations-negative": (["run", "-g", "-1"], "invalid generations: Input should be greater than or"),
    "generations-huge": (["run", "-g", "10" * 20], "invalid generations: Input should be less than or"),
    "generations-text": (["run", "-g", "abc"], "Invalid value for '--generations' / '-g'"),
    "seeds-huge": (["run", "--seeds", "100000"], "invalid seeds: a count of seeds is between 1 and 1000"),
    "context-huge": (["run", "--context-best", "9" * 30], "invalid context_best"),
    "timeout-nan": (["run", "--request-timeout", "nan"], "invalid request_timeout"),
    "timeout-inf": (["run", "--request-timeout", "inf"], "invalid request_timeout"),
    "timeout-zero": (["run", "--connect-timeout", "0"], "invalid connect_timeout"),
    "retries-huge": (["run", "--max-retries", "1000"], "invalid max_retries"),
    "reply-bytes-small": (["run", "--max-reply-bytes", "10"], "invalid max_reply_bytes"),
    "random-seed-negative": (["run", "--random-seed", "-1"], "invalid random_seed"),
    "base-url-scheme": (["run", "--base-url", "ftp://x", "--model", "m"], "is not an http:// or https://"),
    "base-url-broken": (["run", "--base-url", "http://[::1", "--model", "m"], "is not a URL: Invalid IPv6"),
    "base-url-port": (["run", "--base-url", "http://h:port", "--model", "m"], "is not a URL: Port could"),
    "model-empty": (["run", "--base-url", "http://h/v1", "--model", ""], "invalid model: String should"),
    "evaluator-empty": (["run", "-e", ""], "invalid evaluator"),
    "proposer-unknown": (["run", "--proposer", "gpt"], "invalid proposer: Input should be 'openai' or"),
    # --resume
    "resume-empty": (["run", "--resume", ""], "Invalid value for '--resume': an empty run id names no run"),
    "resume-blank": (["run", "--resume", "  "], "an empty run id names no run"),
    "resume-unknown": (["run", "--resume", "nope"], "no run 'nope'"),
    "resume-negative": (["run", "--resume", RUN, "--generations", "-1"], "invalid generations"),
    "resume-changes": (["run", "--resume", RUN, "--set", "beta=1"], "only --generations may change"),
    "resume-changes-a-section": (["run", "--resume", RUN, "--workers", "2"], "(drop --workers)"),
    # objectives that are not objective files
    "evaluate-dev-null": (
        ["evaluate", "/dev/null"],
        "cannot read objective file /dev/null: it is not a regular",
    ),
    "evaluate-folder": (["evaluate", "folder.py"], "objective file folder.py: it is a folder"),
    "evaluate-fifo": (["evaluate", "fifo.py"], "objective file fifo.py: it is not a regular file"),
    "evaluate-binary": (["evaluate", "binary.py"], "objective file binary.py: it is not UTF-8 text"),
    "evaluate-huge": (["evaluate", "huge.py"], f"huge.py: it is larger than {MAX_BYTES:,} bytes"),
    "evaluate-name-too-long": (["evaluate", "x" * 5000], "unknown objective or candidate"),
    "evaluate-seeds-huge": (["evaluate", "dpo", "--seeds", "1" * 24], "count of seeds is between 1 and 1000"),
    "validate-fifo": (["validate", "fifo.py"], "objective file fifo.py: it is not a regular file"),
    "validate-long-file-name": (["validate", "x" * 5000 + ".py"], "File name too long"),
    "validate-timeout-huge": (["validate", "dpo", "--timeout", "1e308"], "'--timeout': Input should be less"),
    "validate-timeout-nan": (["validate", "dpo", "--timeout", "nan"], "Invalid value for '--timeout'"),
    "validate-memory-huge": (["validate", "dpo", "--memory-mb", "1" * 18], "Invalid value for '--memory-mb'"),
    # folders that are files
    "evaluate-runs-dir-file": (["evaluate", "dpo", "--runs-dir", "notes.txt"], "notes.txt is not a folder"),
    "run-runs-dir-device": (["run", "--runs-dir", "/dev/null"], "/dev/null is not a folder"),
    "runs-dir-file": (["runs", "--runs-dir", "notes.txt"], "Invalid value for '--runs-dir'"),
    "output-dir-file": (["retrain", "dpo", "--output-dir", "notes.txt"], "Invalid value for '--output-dir'"),
    # run ids
    "archive-empty-run": (["archive", ""], "an empty run id names no run"),
    "browse-empty-run": (["browse", " "], "an empty run id names no run"),
    "show-empty-run": (["show", "dpo", "--run", ""], "an empty run id names no run"),
    # recipes
    "recipe-binary": (
        ["retrain", "dpo", "--recipe", "binary.yaml", "--dry-run"],
        "recipe binary.yaml: it is",
    ),
    "recipe-infinite": (["retrain", "dpo", "--set", "beta=-inf", "--dry-run"], "beta: must be a finite"),
    # the command line itself
    "no-such-command": (["launch"], "No such command 'launch'"),
    "no-such-option": (["run", "--bogus"], "No such option: --bogus (see `discover run --help`)"),
    "missing-argument": (["evaluate"], "Missing argument 'OBJECTIVE'. (see `discover evaluate --help`)"),
    "unknown-evaluator": (["evaluators", "nope"], "unknown evaluator 'nope'"),
}


@pytest.mark.parametrize(("args", "message"), list(BAD_INPUT.values()), ids=list(BAD_INPUT))
def test_bad_input_is_one_plain_line_and_exit_code_2(args: list[str], message: str, workspace: Path) -> None:
    assert_refused(discover_cli_runner(*args), message)
    assert [path.name for path in (workspace / "runs").iterdir()] == [RUN]  # no run was created


def assert_refused(result: Result, message: str) -> None:
    """Exit code 2 and `message` in one line on stderr, through the command's own error handling."""
    assert isinstance(result.exception, SystemExit), result.exception  # anything else is a traceback
    assert (result.exit_code, result.stderr.count("\n")) == (2, 1), result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr


def test_files_as_the_runs_folder_or_the_cache_from_the_environment(workspace: Path) -> None:
    result = discover_cli_runner("archive", env={"DISCOVER_RUNS_DIR": "notes.txt"})
    assert_refused(
        result, "Invalid value for '--runs-dir' (env var: 'DISCOVER_RUNS_DIR'): notes.txt is not a"
    )
    for args in (["evaluate", "dpo"], ["run", "--dry-run"], ["run", "-g", "1"]):
        result = discover_cli_runner(*args, env={"DISCOVER_CACHE": "notes.txt"})
        assert_refused(result, "notes.txt is not a folder, so it cannot hold the cache (set DISCOVER_CACHE")


def test_markup_in_user_text_is_printed_as_typed(workspace: Path) -> None:
    """Names and paths that look like rich markup are neither styled, nor dropped, nor a crash."""
    shown = discover_cli_runner("show", "[bold]x")
    assert shown.exit_code == 2 and "unknown objective or candidate '[bold]x'" in shown.stderr
    (workspace / "x[").mkdir()
    (workspace / "x[" / "bold].py").write_text('"""[/x] closes nothing."""\n\nimport os\n')
    verdicts = discover_cli_runner("validate", "x[/bold].py")  # a closing tag rich would choke on
    assert verdicts.exit_code == 1, verdicts.output  # rejected by the gate, and said so in the table
    assert "x[/bold].py" in verdicts.stdout and "rejected" in verdicts.stdout
    broken = discover_cli_runner("run", "--set", "x=[/y]")
    assert broken.exit_code == 2 and "no option x" in broken.stderr


def test_a_failed_start_creates_no_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--seed-objectives` used to be read after the run existed: every later resume failed again."""
    monkeypatch.chdir(tmp_path)
    for seeds in ("nope", "dpo,dpo", "seed.py"):
        result = discover_cli_runner("run", "--seed-objectives", seeds, "--runs-dir", "runs", "-e", "probe")
        assert result.exit_code == 2, result.output
    assert not (tmp_path / "runs").exists()


def test_resuming_a_run_checks_the_new_target(workspace: Path) -> None:
    with Archive.open(workspace / "runs", RUN) as archive:
        before = archive.run().config
    assert discover_cli_runner("run", "--resume", RUN, "-g", "-3").exit_code == 2
    with Archive.open(workspace / "runs", RUN) as archive:
        assert archive.run().config == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--set", "beta=[unclosed", "--dry-run"], "bad --set 'beta=[unclosed'"),
        (["evaluate", "/dev/null"], "cannot read objective file /dev/null: it is not a regular file"),
        (["validate", "dpo", "--timeout", "1e308"], "Invalid value for '--timeout'"),
        (["run", "--config", "binary.yaml"], "it is not UTF-8 text"),
    ],
    ids=["markup", "dev-null", "huge-timeout", "binary-config"],
)
def test_as_a_real_process_too(args: list[str], message: str, tmp_path: Path) -> None:
    (tmp_path / "binary.yaml").write_bytes(b"\x00\xff\xfe")
    result = discover_subprocess(*args, cwd=tmp_path, timeout=120)
    assert (result.returncode, result.stderr.count("\n")) == (2, 1), result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_folder_that_is_no_dataset_is_said_so_in_a_retrain_plan(workspace: Path) -> None:
    """`datasets` refuses such a folder with a RuntimeError (a loading script), which used to escape."""
    (workspace / "folder.py" / "loader.py").write_text("print('a dataset script')\n")
    result = discover_cli_runner("retrain", "dpo", "--dataset", "folder.py", "--dry-run")
    assert result.exit_code == 0, result.output
    shown = " ".join(result.stdout.split())  # the plan names the folder by its absolute path
    assert f"not counted: the folder {workspace / 'folder.py'} cannot be read as a dataset" in shown
