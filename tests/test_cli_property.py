"""Random argument lists for every command end in exit code 0, 1 or 2, never in a traceback.

The argument lists are built from the commands' real options, read from the typer app, so a new
command or option is covered the day it is added. Values are numbers of every size, NaN and
infinities, empty and blank strings, markup-looking text, unicode, undecodable bytes, and paths
that exist, do not, are files, folders, FIFOs or devices. Everything runs in-process up to the point
where real work would start (`tests.support.stub_work`), with the runs folder and the cache in a temporary
folder that is also the working directory, so relative paths land there too.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import get_args, get_type_hints

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from typer.main import get_command

from discovery.cli import app, load_commands
from tests.support.archive_factory import build_run
from tests.support.commands import discover_cli_runner
from tests.support.stub_work import stub_heavy_work

EXAMPLES = 200

# Paths of every kind, made by the `workspace` fixture (relative to it) or always there.
PATHS = [
    "good.py",
    "bad.py",
    "binary.bin",
    "run.yaml",
    "notes.txt",
    "folder",
    "fifo",
    "missing/x.py",
    "runs",
    "/dev/null",
    ".",
]
NAMES = ["dpo", "discopop", "sigmoid", "run-a", "run-a/blend_2", "run-a/g1-c0", "sentiment", "mtbench"]
SETTINGS = [
    "preset=tiny",
    "beta=0.5",
    "epochs=2",
    "max_steps=3",
    "judge_model=gpt-4o",
    "recipe_set={beta: 1}",
]
SPECIAL = ["", " ", "-", "--", "nan", "-nan", "inf", "-inf", "1e308", "-1e308", "0", "-0", "1", "-1"]
MARKUP = ["[red]", "[/x]", "[bold]x[/bold]", ":smile:", "\x1b[31mred", "a\nb", "\t"]


def _safe_text(text: str) -> str:
    """Random text as a path never leaves the temporary folder: no leading slash, no `..`."""
    return text.lstrip("/").replace("..", ".")


def values(annotation: object = str) -> st.SearchStrategy[str]:
    """One command-line word: half the time a plausible value for a parameter of type `annotation`
    (so that commands get past their first check), else a word of any kind."""
    return st.one_of(_plausible(annotation), _any_word())


def _plausible(annotation: object) -> st.SearchStrategy[str]:
    kinds = set(get_args(annotation)) | {annotation}
    if kinds & {int, float}:
        return st.integers(-2, 20).map(str) | st.floats(0, 100).map(str)
    if Path in kinds:
        return st.sampled_from(PATHS)
    return st.sampled_from(NAMES + PATHS + SETTINGS)


def _any_word() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(SPECIAL + MARKUP + PATHS + NAMES),
        st.text(st.characters(blacklist_characters="\x00"), max_size=30).map(_safe_text),
        st.binary(max_size=12).map(lambda raw: _safe_text(os.fsdecode(raw.replace(b"\x00", b"")))),
        st.builds(
            lambda key, value: f"{key}={value}", st.sampled_from(["beta", "preset", "x", ""]), st.text()
        ),
    )


def command_lines() -> st.SearchStrategy[list[str]]:
    """`COMMAND [OPTION [VALUE]]... [ARGUMENT]...` for every command of the app."""
    load_commands()
    return st.one_of(*(_command_line(name, command) for name, command in get_command(app).commands.items()))


def _command_line(name: str, command) -> st.SearchStrategy[list[str]]:
    options = [param for param in command.params if param.param_type_name == "option"]
    arguments = [param for param in command.params if param.param_type_name == "argument"]
    types = get_type_hints(command.callback)

    def one_option(param) -> st.SearchStrategy[list[str]]:
        flag = st.sampled_from(param.opts)
        if param.is_flag:
            return flag.map(lambda opt: [opt])
        return st.tuples(flag, values(types[param.name])).map(list)

    def one_argument(param) -> st.SearchStrategy[list[str]]:
        count = st.integers(0, 3) if param.nargs == -1 else st.integers(0, 1)
        return count.flatmap(lambda n: st.lists(values(types[param.name]), min_size=n, max_size=n))

    chosen = st.lists(st.sampled_from(options).flatmap(one_option), max_size=4) if options else st.just([])
    given_arguments = st.tuples(*(one_argument(param) for param in arguments)) if arguments else st.just(())
    return st.builds(
        lambda picked, args: [
            name,
            *(word for option in picked for word in option),
            *(w for a in args for w in a),
        ],
        chosen,
        given_arguments,
    )


def assert_ends_cleanly(args: list[str]) -> None:
    """Exit 0, 1 or 2 through the command's own handling; a usage error is one line on stderr."""
    result = discover_cli_runner(*args)
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    assert escaped is None, f"discover {args!r} raised {escaped!r}"
    assert result.exit_code in (0, 1, 2), f"discover {args!r} exited {result.exit_code}: {result.stderr}"
    assert "Traceback" not in result.output, f"discover {args!r}: {result.output}"
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1, f"discover {args!r}: {result.stderr}"


def run_property(examples: int, phases: tuple[Phase, ...] = tuple(Phase)) -> None:
    """Check `assert_ends_cleanly` on `examples` random command lines."""
    checked: Callable[[], None] = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=phases,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )(given(command_lines())(assert_ends_cleanly))
    checked()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder as working directory, runs folder and cache, with files of every kind."""
    build_run(tmp_path / "runs", "run-a", proposals=3)
    (tmp_path / "good.py").write_text('"""A margin."""\n\nimport torch.nn.functional as F\n\n\n' + GOOD_BODY)
    (tmp_path / "bad.py").write_text("import os\n")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)))
    (tmp_path / "run.yaml").write_text("generations: 1\nevaluator_options: {preset: tiny}\n")
    (tmp_path / "notes.txt").write_text("text\n")
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCOVER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("DISCOVER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    stub_heavy_work(monkeypatch)
    return tmp_path


GOOD_BODY = (
    "def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps,"
    " beta):\n"
    "    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps -"
    " reference_rejected_logps)\n"
    "    return -F.logsigmoid(beta * rho - 0.5)\n"
)


def test_random_command_lines_never_end_in_a_traceback(workspace: Path) -> None:
    run_property(EXAMPLES)


def test_the_property_catches_a_traceback(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug planted in one command (`discover objectives`) is found: the property can fail."""

    def planted(*args: object, **kwargs: object) -> None:
        raise KeyError("planted bug")

    monkeypatch.setattr("discovery.cli.objectives.shipped_catalog", planted)
    with pytest.raises(AssertionError, match="planted bug"):
        run_property(EXAMPLES, phases=(Phase.generate,))
