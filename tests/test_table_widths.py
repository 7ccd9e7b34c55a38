"""Tables on an 80-column terminal: the ids and names a user copies into the next command are
printed whole (never `202611…` or `seed-s…`); the other columns wrap or make room."""

from rich.console import Console

from discovery.archive import Archive
from discovery.objectives import shipped_names
from discovery.records import CandidateStatus
from discovery.ui.fitted import Column, FittedTable
from tests.support.archive_factory import build_run, metrics, proposal
from tests.support.commands import discover_cli_runner

RUN_ID = "20261129-101500-ab12"
LONG_NAME = "log_ratio_modulated_exponential_blend"


def sample_runs(runs_dir) -> list[str]:
    """A run of every status with a proposal of a long name whose parents are two long ids; its ids."""
    build_run(runs_dir, RUN_ID, proposals=6)
    with Archive(runs_dir / RUN_ID / "archive.sqlite", writable=True) as archive:
        long = proposal(RUN_ID, 6, 7, ["seed-discopop", "g5-c4"], None)
        long.name, long.status, long.figures = LONG_NAME, CandidateStatus.SCORED, metrics(LONG_NAME, 0.97)
        archive.add_candidates([long])
        return [c.id for c in archive.candidates()]


def shown(*args: str) -> str:
    result = discover_cli_runner(*args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout, result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    return result.stdout


def words(text: str) -> set[str]:
    return {word for line in text.splitlines() for word in line.replace("│", " ").split()}


def test_runs_and_archive_show_whole_ids_and_names_at_80_columns(tmp_path) -> None:
    ids = sample_runs(tmp_path)
    assert RUN_ID in words(shown("runs", "--runs-dir", str(tmp_path)))
    board = words(shown("archive", RUN_ID, "--status", "all", "--runs-dir", str(tmp_path)))
    assert set(ids) <= board and LONG_NAME in board and "seed-discopop" in board
    assert {"blend_0", "blend_2", "blend_4"} <= board


def test_the_shipped_objectives_keep_their_names_and_roles_at_80_columns() -> None:
    listed = words(shown("objectives"))
    assert set(shipped_names()) <= listed and {"seed", "discovered", "trl"} <= listed


def printed(table: FittedTable, width: int) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    return console.export_text()


def test_columns_give_way_in_order_and_a_very_narrow_terminal_folds_names_without_cutting_them() -> None:
    table = FittedTable(
        [
            Column("id", whole=True),
            Column("name", whole=True),
            Column("fitness"),
            Column("reward", drop=1),
            Column("parents", whole=True, drop=2),
        ]
    )
    table.add_row("g12-c3", LONG_NAME, "0.812 ± 0.004", "0.731", "seed-discopop")
    wide, medium, narrow = printed(table, 120), printed(table, 80), printed(table, 30)
    assert {"g12-c3", LONG_NAME, "seed-discopop", "0.731"} <= words(wide)
    assert {"g12-c3", LONG_NAME, "0.731"} <= words(medium) and "parents" not in medium  # parents went first
    assert "…" not in narrow and max(len(line) for line in narrow.splitlines()) <= 30
    name_column = [line.split("│")[2].strip() for line in narrow.splitlines() if line.startswith("│")]
    assert "".join(name_column) == LONG_NAME  # folded over lines, complete
