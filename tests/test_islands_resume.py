"""A run killed with SIGKILL in the middle of a generation resumes with the islands and the behaviour
map it would have had: the same islands and cells for the same candidates, the same migrations and
reseeds, as an uninterrupted run with the same seed (built-in proposer, millisecond test evaluator,
one evaluation at a time: with more, what each generation is shown depends on timing)."""

from pathlib import Path

from discovery.archive import Archive
from tests.support.commands import discover_subprocess
from tests.support.live_runs import killed_in_generation, only_run, run_to_end

REPO = Path(__file__).resolve().parents[1]
RUN_ARGS = [
    "--evaluator", "tests.support.probe_evaluator:probe", "--proposer", "builtin",
    "--seed-objectives", "dpo,slic,discopop", "--generations", "6", "--islands", "2",
    "--set", "betas=[0.1]", "--seeds", "1", "--workers", "1",
]  # fmt: skip
ENV = {"PYTHONPATH": str(REPO)}
# Both runs get this id: the sandbox's probe batches are drawn from a seed of a run's id, and a duplicate
# check near its threshold could otherwise tell two runs' identical drafts apart.
RUN_ID = "20261207-120000-abcd"


def population(runs_dir: Path) -> tuple[list, list]:
    """Each candidate's id, island and cell, and every island event, of the one run in `runs_dir`."""
    with Archive.open(runs_dir, only_run(runs_dir).name) as archive:
        candidates = [(c.id, c.island, c.cell) for c in archive.candidates()]
        events = [
            (e.generation, e.island, e.kind.value, e.candidates, e.source) for e in archive.island_events()
        ]
    return candidates, events


def test_a_run_killed_mid_generation_resumes_with_the_same_islands_cells_and_events(tmp_path) -> None:
    whole = run_to_end(tmp_path / "whole", RUN_ARGS, ENV, RUN_ID)
    assert whole.returncode == 0, whole.stderr[-2000:]

    killed = tmp_path / "killed"
    killed_in_generation(killed, 4, RUN_ARGS, ENV, RUN_ID)
    resumed = discover_subprocess(
        "run", "--resume", only_run(killed).name, "--runs-dir", str(killed), env=ENV
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    candidates, events = population(tmp_path / "whole")
    assert population(killed) == (candidates, events)
    assert {island for _, island, _ in candidates} == {None, 0, 1}  # seeds on every island, proposals on one
    assert any(cell for _, _, cell in candidates) and events  # the map and the islands were used
